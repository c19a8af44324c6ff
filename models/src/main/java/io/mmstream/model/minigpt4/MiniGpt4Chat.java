package io.mmstream.model.minigpt4;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.chat.HistoryWindow;
import io.mmstream.model.chat.TextStreamer;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.llama.LlamaConfig;
import io.mmstream.model.llama.LlamaPrefixDecoder;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.DeviceMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MiniGPT-4's {@code Chat} as a {@link VisionLanguageModel}: the image is encoded once into query rows, the
 * conversation is written with {@link MiniGpt4Conversation}, its text around the image tokenized apart (only the
 * first part starts with {@code <s>}), the image rows spliced between, and Vicuna continues it. Decoding stops at
 * {@code </s>} or once the reply ends with the separator's ids; the reply text is cleaned up as {@code Chat.answer}
 * does. The original samples ({@code do_sample=True}); this runs its greedy or beam counterpart.
 */
public final class MiniGpt4Chat implements VisionLanguageModel {
  /** {@code Chat.answer(max_length=2000)}: prompt plus reply may take at most this many positions. */
  public static final int CONTEXT_TOKENS = 2000;
  /** {@code Chat.answer(max_new_tokens=300)}. */
  public static final int DEFAULT_MAX_NEW_TOKENS = 300;
  /** {@code Chat.answer(min_length=1)}: {@code </s>} cannot be the first generated token. */
  private static final int MIN_NEW_TOKENS = 1;
  /** Marks the image rows in {@link GeneratedText#promptIds()}, as the fixture's prompt_ids do. */
  public static final long IMAGE_ROW = -1;

  private final MiniGpt4Model model;
  private final VicunaTokenizer tokenizer;
  private final BlipImagePreprocessor images;
  private final MiniGpt4Conversation conversation;
  private final List<long[]> stopSequences;
  private final NDManager manager;

  MiniGpt4Chat(MiniGpt4Model model, VicunaTokenizer tokenizer, MiniGpt4Conversation conversation, NDManager manager) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.images = BlipImagePreprocessor.forVision(model.config().vision());
    this.conversation = conversation;
    this.stopSequences = stopSequences(tokenizer, conversation.separator());
    this.manager = manager;
  }

  /**
   * {@code Chat}'s {@code StoppingCriteriaSub}: the separator {@code ###} as one piece, or as {@code ##} then
   * {@code #} (the original hard-codes LLaMA's ids of these pieces, 835 and 2277, 29937).
   */
  static List<long[]> stopSequences(VicunaTokenizer tokenizer, String separator) {
    List<long[]> out = new ArrayList<>();
    tokenizer.pieceId(separator).ifPresent(id -> out.add(new long[] {id}));
    if (separator.length() > 1) {
      var head = tokenizer.pieceId(separator.substring(0, separator.length() - 1));
      var tail = tokenizer.pieceId(separator.substring(separator.length() - 1));
      if (head.isPresent() && tail.isPresent()) {
        out.add(new long[] {head.get(), tail.get()});
      }
    }
    return out;
  }

  /**
   * Opens a MiniGPT-4 directory ({@link MiniGpt4Files}): the original's four checkpoints, in float32, and Vicuna's
   * tokenizer. Fails before loading when the weights do not fit the device.
   */
  public static MiniGpt4Chat load(Path directory, NDManager manager) throws IOException {
    MiniGpt4Files files = MiniGpt4Files.locate(directory);
    LlamaConfig text = LlamaConfig.fromJson(new ObjectMapper().readTree(files.vicuna().resolve("config.json").toFile()));
    CheckpointWeightStore store = openCheckpoints(files, manager);
    MiniGpt4Config config;
    try {
      Device device = manager.getDevice();
      // Counts every stored tensor, so a Q-Former file with unused heads overstates a little: refusal errs early.
      DeviceMemory.requireFits(directory.toString(), store.loadedBytes(), DeviceMemory.availableBytes(device), device);
      config = MiniGpt4Config.infer(store, files, text);
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    MiniGpt4Model model = MiniGpt4Model.fromStore(config, store);
    try {
      VicunaTokenizer tokenizer = VicunaTokenizer.load(files.vicuna());
      return new MiniGpt4Chat(model, tokenizer, MiniGpt4Conversation.VISION, manager);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /**
   * The files as the original loads them, in its order (a later file's key replaces an earlier one, as successive
   * {@code load_state_dict(strict=False)} calls do): the ViT under {@code visual_encoder.}, the Q-Former file,
   * Vicuna under {@code llama_model.}, the projection checkpoint.
   */
  static CheckpointWeightStore openCheckpoints(MiniGpt4Files files, NDManager manager) throws IOException {
    return CheckpointWeightStore.open(List.of(
        new CheckpointWeightStore.Part(files.vision(), "visual_encoder."),
        CheckpointWeightStore.Part.of(files.qformer()),
        new CheckpointWeightStore.Part(files.vicuna(), "llama_model."),
        CheckpointWeightStore.Part.of(files.projection())), manager, DataType.FLOAT32, false);
  }

  public MiniGpt4Model model() {
    return model;
  }

  public VicunaTokenizer tokenizer() {
    return tokenizer;
  }

  public MiniGpt4Conversation conversation() {
    return conversation;
  }

  public BlipImagePreprocessor images() {
    return images;
  }

  @Override
  public String modelType() {
    return "minigpt4/llama";
  }

  @Override
  public boolean supportsHistory() {
    return true;
  }

  /** The prompt's token ids around the image: {@code [<s> text before, text after]} ({@code get_context_emb}). */
  public List<long[]> segmentIds(List<ChatTurn> history, String prompt) {
    List<String> segments = conversation.segments(conversation.prompt(history, prompt));
    if (segments.size() != 2) {
      throw new IllegalArgumentException("MiniGPT-4 takes one image per conversation; the prompt text holds "
          + (segments.size() - 1) + " image placeholders");
    }
    return List.of(tokenizer.encode(segments.get(0), true), tokenizer.encode(segments.get(1), false));
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions options) {
    if (options.textSink() != null && requests.size() != 1) {
      throw new IllegalArgumentException("streaming text takes one request at a time");
    }
    List<GeneratedText> out = new ArrayList<>();
    for (GenerationRequest request : requests) {
      out.add(answer(request, options));
    }
    return out;
  }

  private GeneratedText answer(GenerationRequest request, DecodingOptions options) {
    if (request.images().size() != 1) {
      throw new IllegalArgumentException("MiniGPT-4 answers about exactly one image, got " + request.images().size());
    }
    int maxNew = options.maxNewTokens() == null ? DEFAULT_MAX_NEW_TOKENS : options.maxNewTokens();
    int rows = model.config().numQueryTokens();
    HistoryWindow.Fitted fitted = HistoryWindow.fit(request.history(), CONTEXT_TOKENS, maxNew,
        kept -> segmentIds(kept, request.prompt()).stream().mapToInt(s -> s.length).sum() + rows);
    List<long[]> segments = segmentIds(fitted.history(), request.prompt());
    try (NDManager call = manager.newSubManager()) {
      NDArray imageRows = model.encodeImage(images.pixelValues(List.of(request.images().get(0)), call));
      GenerationResult result = generate(imageRows, segments, maxNew, options);
      long[] ids = result.sequences()[0];
      return new GeneratedText(promptIds(segments, rows), ids, reply(ids),
          options.recordLogits() ? result.stepLogits()[0] : null, fitted.droppedTurns());
    }
  }

  /**
   * Generates after {@code [embed(segment 0); imageRows; embed(segment 1)]} with the KV cache.
   *
   * @param imageRows {@code [1, Q, D]} from {@link MiniGpt4Model#encodeImage}
   */
  private GenerationResult generate(
      NDArray imageRows, List<long[]> segments, int maxNewTokens, DecodingOptions options) {
    LlamaConfig text = model.config().text();
    int numBeams = options.numBeams() == null ? 1 : options.numBeams();
    GenerationConfig config = new GenerationConfig(maxNewTokens, MIN_NEW_TOKENS, numBeams, 1f, 1f,
        text.eosTokenIds().get(0), text.padTokenId());
    try (NDManager call = imageRows.getManager().newSubManager();
        LlamaPrefixDecoder decoder = model.decoder(inputsEmbeds(call, imageRows, segments))) {
      TextStreamer streamer = options.textSink() == null ? null
          : new TextStreamer(this::streamedReply, options.textSink());
      IncrementalDecoder watched = streamer == null ? decoder : streamer.watch(decoder);
      GenerationResult result =
          SequenceGenerator.generate(watched, new long[1][0], config, options.recordLogits(), stopSequences);
      if (streamer != null) {
        streamer.finish(result.sequences()[0]);
      }
      return result;
    }
  }

  /** {@code inputs_embeds [1, L, D]}: each segment's token embeddings with the image rows between them. */
  public NDArray inputsEmbeds(NDManager call, NDArray imageRows, List<long[]> segments) {
    NDList parts = new NDList();
    parts.add(model.languageModel().embed(call.create(segments.get(0)).expandDims(0)));
    parts.add(imageRows.toType(model.computeType(), false));
    parts.add(model.languageModel().embed(call.create(segments.get(1)).expandDims(0)));
    return NDArrays.concat(parts, 1);
  }

  /** {@code Chat.answer}'s text of generated ids: a leading 0, then a leading 1 dropped, decoded, cleaned up. */
  public String reply(long[] ids) {
    long[] kept = ids;
    // The original drops these ids by value (LLaMA's <unk> and <s>), whatever the tokenizer calls them.
    if (kept.length > 0 && kept[0] == 0) {
      kept = Arrays.copyOfRange(kept, 1, kept.length);
    }
    if (kept.length > 0 && kept[0] == 1) {
      kept = Arrays.copyOfRange(kept, 1, kept.length);
    }
    return conversation.answer(tokenizer.decode(kept));
  }

  /** The reply so far as the user sees it: decoded up to the separator, not yet stripped at the end. */
  private String streamedReply(long[] ids) {
    String decoded = tokenizer.decode(ids);
    int stop = decoded.indexOf(conversation.separator());
    return MiniGpt4Conversation.pythonStrip(stop < 0 ? decoded : decoded.substring(0, stop));
  }

  private static long[] promptIds(List<long[]> segments, int imageRows) {
    long[] out = new long[segments.get(0).length + imageRows + segments.get(1).length];
    System.arraycopy(segments.get(0), 0, out, 0, segments.get(0).length);
    Arrays.fill(out, segments.get(0).length, segments.get(0).length + imageRows, IMAGE_ROW);
    System.arraycopy(segments.get(1), 0, out, segments.get(0).length + imageRows, segments.get(1).length);
    return out;
  }

  @Override
  public void close() {
    tokenizer.close();
    try {
      model.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

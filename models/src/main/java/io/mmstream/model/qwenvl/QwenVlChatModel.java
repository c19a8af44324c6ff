package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.qwen.ChatMlTemplate;
import io.mmstream.model.qwen.QwenConfig;
import io.mmstream.model.qwen.QwenLMHeadModel;
import io.mmstream.model.qwen.QwenTokenizer;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.DeviceMemory;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import javax.imageio.ImageIO;

/**
 * Qwen-VL-Chat as {@code model.chat(tokenizer, query, history)} runs it: make_context's ChatML with the default system
 * message, every {@code <img>} span of the prompt (history included) replaced by that image's 256 resampler rows, the
 * language model with its KV cache, the stop words {@code <|im_end|>} and {@code <|im_start|>}, and the reply decoded
 * up to the first of them and stripped. Images named in the text are opened from their paths, relative to the working
 * directory, as the original opens them; the request's own images are written into the text
 * ({@link QwenVlConversation}).
 *
 * <p>The original samples by default (top_p 0.3); this port decodes greedily unless beams are asked for.
 */
public final class QwenVlChatModel implements VisionLanguageModel {
  /** The original's reply length when generation_config.json has no {@code max_new_tokens}. */
  private static final int DEFAULT_MAX_NEW_TOKENS = 512;

  private final QwenLMHeadModel language;
  private final QwenVisionTransformer visual;
  private final QwenTokenizer tokenizer;
  private final QwenVlImageProcessor processor;
  private final ChatMlTemplate template;
  private final long endOfText;
  private final Set<Long> stopWords;
  private final int maxNewTokens;
  private final NDManager manager;
  private final WeightStore store;

  private QwenVlChatModel(QwenLMHeadModel language, QwenVisionTransformer visual, QwenTokenizer tokenizer,
      ChatMlTemplate template, long endOfText, int maxNewTokens, NDManager manager, WeightStore store) {
    this.language = language;
    this.visual = visual;
    this.tokenizer = tokenizer;
    this.processor = new QwenVlImageProcessor(visual.config().imageSize());
    this.template = template;
    this.endOfText = endOfText;
    this.stopWords = Set.of((long) tokenizer.id(QwenTokenizer.IM_END), (long) tokenizer.id(QwenTokenizer.IM_START));
    this.maxNewTokens = maxNewTokens;
    this.manager = manager;
    this.store = store;
  }

  /** Opens a Qwen-VL-Chat directory: config.json, the checkpoint, qwen.tiktoken, generation_config.json. */
  public static QwenVlChatModel load(Path directory, NDManager manager) throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode config = json.readTree(directory.resolve("config.json").toFile());
    QwenConfig lm = QwenConfig.fromJson(config);
    QwenVisualConfig vision = QwenVisualConfig.fromJson(config.path("visual"));
    QwenTokenizer tokenizer = QwenTokenizer.load(directory);
    if (tokenizer.imageStartId() != vision.imageStartId()) {
      throw new IOException(directory + ": visual.image_start_id " + vision.imageStartId() + " is not the tokenizer's "
          + QwenTokenizer.IMAGE_START + " id " + tokenizer.imageStartId());
    }
    if (vision.queries() != QwenTokenizer.IMAGE_SPAN) {
      throw new IOException(directory + ": the resampler's " + vision.queries() + " queries do not fill the tokenizer's "
          + QwenTokenizer.IMAGE_SPAN + "-id image span");
    }
    Path generationFile = directory.resolve(GenerationConfig.FILE_NAME);
    JsonNode generation = Files.isRegularFile(generationFile) ? json.readTree(generationFile.toFile()) : json.nullNode();
    String format = generation.path("chat_format").asText("chatml");
    if (!format.equals("chatml")) {
      throw new IOException(directory + ": chat_format '" + format + "' is not supported (only chatml)");
    }
    ChatMlTemplate template = new ChatMlTemplate(ChatMlTemplate.DEFAULT_SYSTEM,
        generation.path("max_window_size").asInt(ChatMlTemplate.DEFAULT_MAX_WINDOW_SIZE));
    long eos = generation.path("eos_token_id").asLong(tokenizer.id(QwenTokenizer.END_OF_TEXT));
    int maxNew = generation.path("max_new_tokens").asInt(DEFAULT_MAX_NEW_TOKENS);
    DataType computeType;
    try (CheckpointWeightStore probe = CheckpointWeightStore.open(directory, manager, DataType.FLOAT32, false)) {
      computeType = CheckpointWeightStore.computeType(manager.getDevice(), probe.storedDtypes());
    }
    CheckpointWeightStore store = CheckpointWeightStore.open(directory, manager, computeType, false);
    try {
      DeviceMemory.requireFits(directory.toString(), store.loadedBytes(), DeviceMemory.availableBytes(manager.getDevice()),
          manager.getDevice());
      Weights w = new Weights(store);
      QwenLMHeadModel language = QwenLMHeadModel.load(w, lm);
      QwenVisionTransformer visual = QwenVisionTransformer.load(w.sub("transformer").sub("visual"), vision);
      store.requireAllUsed();
      return new QwenVlChatModel(language, visual, tokenizer, template, eos, maxNew, manager, store);
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  public QwenLMHeadModel language() {
    return language;
  }

  public QwenVisionTransformer visual() {
    return visual;
  }

  public QwenTokenizer tokenizer() {
    return tokenizer;
  }

  public QwenVlImageProcessor processor() {
    return processor;
  }

  public ChatMlTemplate template() {
    return template;
  }

  @Override
  public String modelType() {
    return "qwen";
  }

  @Override
  public boolean supportsHistory() {
    return true;
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions options) {
    List<GeneratedText> out = new ArrayList<>();
    for (GenerationRequest request : requests) {
      out.add(generate(request, options));
    }
    return out;
  }

  private GeneratedText generate(GenerationRequest request, DecodingOptions options) {
    QwenVlConversation conversation = QwenVlConversation.of(request);
    ChatMlTemplate.Prompt prompt = template.build(tokenizer, conversation.history(), conversation.query());
    long[] ids = prompt.ids();
    int beams = options.numBeams() == null ? 1 : options.numBeams();
    int newTokens = options.maxNewTokens() == null ? maxNewTokens : options.maxNewTokens();
    GenerationConfig config = GenerationConfig.greedy(newTokens, endOfText, endOfText).withNumBeams(beams);
    try (NDManager call = manager.newSubManager()) {
      NDArray embeds = inputsEmbeds(call, ids, conversation.supplied(), request.openNamedFiles());
      ReplyStream stream = new ReplyStream(options.textSink());
      try (QwenVlDecoder decoder = new QwenVlDecoder(language, call, embeds, ids[ids.length - 1], stopWords,
          endOfText, stream::accept, options.recordLogits() && beams == 1)) {
        GenerationResult result = SequenceGenerator.generate(decoder, new long[][] {{}}, config, options.recordLogits());
        long[] generated = result.sequences()[0];
        stream.finish(generated);
        float[][] logits = null;
        if (options.recordLogits()) {
          logits = beams == 1 ? decoder.rawLogits() : result.stepLogits()[0];
        }
        return new GeneratedText(ids, generated, reply(generated), logits,
            conversation.history().size() - prompt.keptTurns());
      }
    }
  }

  /**
   * {@code wte(ids)} with each image span's inner rows replaced by its image's features: [1, L, D]. An image the
   * request does not supply is read from the path the prompt names only when {@code openNamedFiles}.
   */
  public NDArray inputsEmbeds(NDManager call, long[] ids, Map<String, PixelImage> supplied, boolean openNamedFiles) {
    List<int[]> spans = new ArrayList<>();
    List<PixelImage> images = new ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] != tokenizer.imageStartId()) {
        continue;
      }
      int end = i + 1;
      while (end < ids.length && ids[end] != tokenizer.imageEndId()) {
        end++;
      }
      if (end - i - 1 != QwenTokenizer.IMAGE_SPAN) {
        throw new IllegalArgumentException("an image span of " + (end - i - 1) + " ids, not " + QwenTokenizer.IMAGE_SPAN);
      }
      String name = spanPath(ids, i + 1, end);
      PixelImage image = supplied.get(name);
      if (image == null && !openNamedFiles) {
        throw new IllegalArgumentException("the prompt names an image '" + name + "' that the request does not carry");
      }
      images.add(image != null ? image : read(Path.of(name)));
      spans.add(new int[] {i + 1, end});
      i = end;
    }
    NDArray embeds = language.transformer().embed(call.create(ids));
    if (spans.isEmpty()) {
      return embeds.expandDims(0);
    }
    NDArray features = visual.forward(processor.pixelValues(images, call).toType(embeds.getDataType(), false));
    for (int s = 0; s < spans.size(); s++) {
      embeds.set(new NDIndex(spans.get(s)[0] + ":" + spans.get(s)[1]), features.get(s));
    }
    return embeds.expandDims(0);
  }

  /** The path the original reads back from a span: its ids up to the first {@code <imgpad>}, as UTF-8. */
  private String spanPath(long[] ids, int from, int to) {
    int end = from;
    while (end < to && ids[end] != tokenizer.imagePadId()) {
      end++;
    }
    byte[] bytes = new byte[end - from];
    for (int i = from; i < end; i++) {
      bytes[i - from] = (byte) ids[i];
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static PixelImage read(Path file) {
    try {
      BufferedImage image = ImageIO.read(file.toFile());
      if (image == null) {
        throw new IllegalArgumentException(file + " (named in the prompt): not an image this JVM can decode");
      }
      return PixelImage.from(image);
    } catch (IOException e) {
      throw new UncheckedIOException(file + " (named in the prompt) cannot be read", e);
    }
  }

  /** chat()'s reply: the new ids up to the first stop word, decoded, stripped. */
  String reply(long[] generated) {
    return tokenizer.decode(untilStopWord(generated)).strip();
  }

  private long[] untilStopWord(long[] generated) {
    for (int i = 0; i < generated.length; i++) {
      if (stopWords.contains(generated[i])) {
        return Arrays.copyOf(generated, i);
      }
    }
    return generated;
  }

  /** Streams the reply's text as ids arrive: only whole characters, nothing after a stop word. */
  private final class ReplyStream {
    private final Consumer<String> sink;
    private final List<Long> ids = new ArrayList<>();
    private int seen;
    private int sent;
    private boolean stopped;

    ReplyStream(Consumer<String> sink) {
      this.sink = sink;
    }

    void accept(long id) {
      seen++;
      if (sink == null || stopped) {
        return;
      }
      if (stopWords.contains(id) || id == endOfText) {
        stopped = true;
        return;
      }
      ids.add(id);
      byte[] bytes = tokenizer.decodeBytes(ids.stream().mapToLong(Long::longValue).toArray());
      String text = new String(bytes, 0, completeLength(bytes), StandardCharsets.UTF_8);
      if (text.length() > sent) {
        sink.accept(text.substring(sent));
        sent = text.length();
      }
    }

    /** The search's last id is never fed back to the decoder: it and any bytes held back go out at the end. */
    void finish(long[] generated) {
      for (int i = seen; i < generated.length; i++) {
        accept(generated[i]);
      }
      if (sink != null && !ids.isEmpty()) {
        String text = tokenizer.decode(ids.stream().mapToLong(Long::longValue).toArray());
        if (text.length() > sent) {
          sink.accept(text.substring(sent));
          sent = text.length();
        }
      }
    }

    /** Bytes up to the start of a trailing UTF-8 sequence that is still missing bytes. */
    private static int completeLength(byte[] bytes) {
      for (int back = 1; back <= Math.min(3, bytes.length); back++) {
        int b = bytes[bytes.length - back] & 0xFF;
        if ((b & 0xC0) != 0x80) {
          int need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
          return need > back ? bytes.length - back : bytes.length;
        }
      }
      return bytes.length;
    }
  }

  @Override
  public void close() {
    try {
      store.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

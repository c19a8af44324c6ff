package io.mmstream.model.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.chat.HistoryWindow;
import io.mmstream.model.chat.TextStreamer;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.llama.LlamaTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * LLaVA-1.5 as a chat model, the way {@code llava/serve/cli.py} runs it: {@code conv_llava_v1} with the history,
 * the image in the first user message, {@code tokenizer_image_token} ids, generation until {@code </s>}, and the
 * reply kept as {@code tokenizer.decode(ids).strip()} (special tokens included, so a reply that ended on
 * {@code </s>} carries it into the next prompt as the original's does). Streamed text leaves special tokens out,
 * as the original's {@code TextStreamer} does.
 */
public final class LlavaChatModel implements VisionLanguageModel {
  /** {@code --max-new-tokens} default of the original's cli.py and run_llava.py. */
  public static final int DEFAULT_MAX_NEW_TOKENS = 512;

  private final LlavaForConditionalGeneration model;
  private final LlavaImageProcessor processor;
  private final LlamaTokenizer tokenizer;
  private final LlavaConversation conversation;
  private final NDManager manager;
  private final long eosId;
  private final long padId;

  LlavaChatModel(LlavaForConditionalGeneration model, LlavaImageProcessor processor, LlamaTokenizer tokenizer,
      LlavaConversation conversation, NDManager manager, long eosId, long padId) {
    this.model = model;
    this.processor = processor;
    this.tokenizer = tokenizer;
    this.conversation = conversation;
    this.manager = manager;
    this.eosId = eosId;
    this.padId = padId;
  }

  /** A llava-hf directory: config.json, safetensors, preprocessor and tokenizer files. */
  public static LlavaChatModel load(Path dir, NDManager manager) throws IOException {
    LlavaForConditionalGeneration model = LlavaForConditionalGeneration.load(dir, manager);
    try {
      LlavaImageProcessor processor = LlavaImageProcessor.load(dir, model.config().vision().imageSize());
      LlamaTokenizer tokenizer = LlamaTokenizer.open(dir);
      ObjectMapper json = new ObjectMapper();
      Path generationFile = dir.resolve("generation_config.json");
      JsonNode generation = Files.isRegularFile(generationFile) ? json.readTree(generationFile.toFile())
          : json.createObjectNode();
      long eos = generation.path("eos_token_id").asLong(model.config().text().eosTokenIds().get(0));
      long pad = generation.path("pad_token_id").asLong(model.config().text().padTokenId());
      return new LlavaChatModel(model, processor, tokenizer, LlavaConversation.LLAVA_V1, manager, eos, pad);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  @Override
  public String modelType() {
    return "llava/llama";
  }

  @Override
  public boolean supportsHistory() {
    return true;
  }

  /** {@code tokenizer_image_token}: chunks between placeholders tokenized alone, joined by the image marker. */
  public long[] promptIds(String prompt) {
    return promptIds(tokenizer, prompt);
  }

  /** As {@link #promptIds(String)} with {@code tokenizer} (the demo trainer builds its sequences this way). */
  public static long[] promptIds(LlamaTokenizer tokenizer, String prompt) {
    String[] chunks = prompt.split(LlavaConversation.IMAGE_PLACEHOLDER, -1);
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < chunks.length; i++) {
      long[] chunk = tokenizer.encode(chunks[i]);
      // The first chunk keeps its <s>; the others lose theirs (offset 1 in the original).
      boolean dropBos = i > 0 && chunk.length > 0 && ids.size() > 0 && ids.get(0) == chunk[0];
      if (i > 0) {
        ids.add(LlavaForConditionalGeneration.IMAGE_MARKER);
      }
      for (int j = dropBos ? 1 : 0; j < chunk.length; j++) {
        ids.add(chunk[j]);
      }
    }
    return ids.stream().mapToLong(Long::longValue).toArray();
  }

  /** Positions a prompt takes in the language model: each image marker becomes the image's rows. */
  private int positions(long[] promptIds) {
    long markers = Arrays.stream(promptIds).filter(id -> id == LlavaForConditionalGeneration.IMAGE_MARKER).count();
    return (int) (promptIds.length + markers * (model.config().imageTokens() - 1));
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions options) {
    List<GeneratedText> out = new ArrayList<>();
    for (GenerationRequest request : requests) {
      out.add(generate(request, options, requests.size() == 1 ? options.textSink() : null));
    }
    return out;
  }

  private GeneratedText generate(GenerationRequest request, DecodingOptions options,
      java.util.function.Consumer<String> sink) {
    if (request.images().size() > 1) {
      throw new IllegalArgumentException("LLaVA-1.5 takes one image per conversation, got " + request.images().size());
    }
    boolean withImage = !request.images().isEmpty();
    int maxNewTokens = options.maxNewTokens() != null ? options.maxNewTokens() : DEFAULT_MAX_NEW_TOKENS;
    int beams = options.numBeams() != null ? options.numBeams() : 1;
    HistoryWindow.Fitted fitted = HistoryWindow.fit(request.history(), model.config().text().maxPositionEmbeddings(),
        maxNewTokens, kept -> positions(promptIds(conversation.prompt(kept, request.prompt(), withImage))));
    long[] promptIds = promptIds(conversation.prompt(fitted.history(), request.prompt(), withImage));
    try (NDManager call = manager.newSubManager()) {
      NDArray features = withImage ? model.encodeImages(processor.pixelValues(request.images(), call)) : null;
      NDArray embeds = model.inputsEmbeds(call, promptIds, features);
      GenerationConfig generation = GenerationConfig.greedy(maxNewTokens, eosId, padId).withNumBeams(beams);
      GenerationResult result;
      if (sink != null && beams == 1) {
        TextStreamer streamer = new TextStreamer(ids -> tokenizer.decode(ids, true), sink);
        result = model.generate(embeds, generation, true, options.recordLogits(), streamer::watch);
        streamer.finish(result.sequences()[0]);
      } else {
        result = model.generate(embeds, generation, true, options.recordLogits());
      }
      long[] ids = withoutPadding(result.sequences()[0]);
      String text = conversation.reply(tokenizer.decode(ids, false));
      return new GeneratedText(promptIds, ids, text,
          result.stepLogits() == null ? null : result.stepLogits()[0], fitted.droppedTurns());
    }
  }

  /** The generated ids up to and including the stop token. */
  private long[] withoutPadding(long[] sequence) {
    for (int i = 0; i < sequence.length; i++) {
      if (sequence[i] == eosId) {
        return Arrays.copyOf(sequence, i + 1);
      }
    }
    return sequence;
  }

  public LlavaForConditionalGeneration model() {
    return model;
  }

  @Override
  public void close() {
    try {
      model.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

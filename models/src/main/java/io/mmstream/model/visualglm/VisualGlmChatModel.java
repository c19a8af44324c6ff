package io.mmstream.model.visualglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.chat.HistoryWindow;
import io.mmstream.model.chat.TextStreamer;
import io.mmstream.model.chatglm.ChatGlmConfig;
import io.mmstream.model.chatglm.ChatGlmResponse;
import io.mmstream.model.chatglm.ChatGlmTokenizer;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * VisualGLM-6B as a {@link VisionLanguageModel}: {@code model.chat(tokenizer, image, query, history)} with greedy
 * (or beam) search instead of the original's sampling ({@link VisualGlmDecoding#forOptions}). The prompt is {@link VisualGlmChatTemplate#ORIGINAL}, the
 * image (at most one) replaces the image tokens, generation stops at {@code <eop>}, and the reply goes through
 * {@link ChatGlmResponse}.
 */
public final class VisualGlmChatModel implements VisionLanguageModel {
  private final VisualGlmForConditionalGeneration model;
  private final ChatGlmTokenizer tokenizer;
  private final VisualGlmChatTemplate template;
  private final NDManager manager;

  public VisualGlmChatModel(VisualGlmForConditionalGeneration model, ChatGlmTokenizer tokenizer,
      NDManager manager) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.template = VisualGlmChatTemplate.ORIGINAL;
    this.manager = manager;
  }

  /** The model, tokenizer ({@code ice_text.model}) and config of {@code modelDirectory}. */
  public static VisualGlmChatModel load(Path modelDirectory, NDManager manager) throws IOException {
    ChatGlmTokenizer tokenizer = ChatGlmTokenizer.load(modelDirectory);
    return new VisualGlmChatModel(VisualGlmForConditionalGeneration.load(modelDirectory, manager), tokenizer, manager);
  }

  public VisualGlmForConditionalGeneration model() {
    return model;
  }

  public ChatGlmTokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public String modelType() {
    return "chatglm/visualglm";
  }

  @Override
  public boolean supportsHistory() {
    return true;
  }

  /**
   * The prompt ids as {@code chat()} builds them: with an image, {@code encode("<img>")}, the image tokens
   * ({@code <unk>}), {@code encode("</img>问：…答：")}; without, one {@code encode} of the whole text; then
   * {@code [gMASK] <sop>}.
   */
  public long[] promptIds(GenerationRequest request) {
    boolean image = !request.images().isEmpty();
    VisualGlmChatTemplate.Segments s = template.segments(image, request.history(), request.prompt());
    ChatGlmConfig glm = model.config().glm();
    long[] before = image ? tokenizer.encode(s.beforeImage()) : new long[0];
    long[] placeholders = new long[image ? model.config().imageLength() : 0];
    Arrays.fill(placeholders, tokenizer.unkId());
    long[] after = tokenizer.encode(s.afterImage());
    long[] ids = new long[before.length + placeholders.length + after.length + 2];
    System.arraycopy(before, 0, ids, 0, before.length);
    System.arraycopy(placeholders, 0, ids, before.length, placeholders.length);
    System.arraycopy(after, 0, ids, before.length + placeholders.length, after.length);
    ids[ids.length - 2] = glm.gmaskTokenId();
    ids[ids.length - 1] = glm.bosTokenId();
    return ids;
  }

  /** Where the image tokens start in {@link #promptIds}: after {@code encode("<img>")}. */
  private int preImageLength() {
    return tokenizer.encode(template.imageOpen()).length;
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions options) {
    List<GeneratedText> out = new ArrayList<>();
    for (GenerationRequest request : requests) {
      out.add(generate(request, options, requests.size() == 1 ? options.textSink() : null));
    }
    return out;
  }

  private GeneratedText generate(GenerationRequest request, DecodingOptions options, Consumer<String> sink) {
    if (request.images().size() > 1) {
      throw new IllegalArgumentException("VisualGLM takes at most one image per prompt, got " + request.images().size());
    }
    VisualGlmDecoding decoding = VisualGlmDecoding.forOptions(options);
    ChatGlmConfig glm = model.config().glm();
    // With max_new_tokens the reply needs that many positions after the prompt; without, chat()'s max_length caps
    // prompt and reply together, and the prompt must leave room for at least one token.
    int context = options.maxNewTokens() != null
        ? glm.maxSequenceLength()
        : Math.min(glm.maxSequenceLength(), decoding.maxLength());
    int newTokens = options.maxNewTokens() != null ? options.maxNewTokens() : 1;
    HistoryWindow.Fitted fitted = HistoryWindow.fit(request.history(), context, newTokens,
        kept -> promptIds(new GenerationRequest(request.images(), request.prompt(), kept)).length);
    GenerationRequest fittedRequest = new GenerationRequest(request.images(), request.prompt(), fitted.history());
    long[] promptIds = promptIds(fittedRequest);
    GenerationConfig generation =
        decoding.generationConfig(glm, promptIds.length, options.maxNewTokens(), options.numBeams());
    try (NDManager call = manager.newSubManager()) {
      NDArray promptEmbeds = null;
      if (!request.images().isEmpty()) {
        NDArray imageEmbeds = model.imageEmbeds(model.pixelValues(request.images(), call));
        promptEmbeds = model.inputsEmbeds(promptIds, imageEmbeds, preImageLength());
      }
      TextStreamer streamer = sink != null && generation.numBeams() == 1
          ? new TextStreamer(all -> reply(generatedIds(all, promptIds.length, generation)), sink)
          : null;
      GenerationResult result = model.generate(promptIds, promptEmbeds, generation, options.recordLogits(), call,
          streamer == null ? null : streamer::watch);
      long[] sequence = result.sequences()[0];
      if (streamer != null) {
        streamer.finish(sequence);
      }
      long[] ids = generatedIds(sequence, promptIds.length, generation);
      String text = reply(ids);
      if (sink != null && streamer == null) {
        sink.accept(text);
      }
      return new GeneratedText(promptIds, ids, text, options.recordLogits() ? result.stepLogits()[0] : null,
          fitted.droppedTurns());
    }
  }

  /** {@code process_response(decode(ids))}. */
  private String reply(long[] ids) {
    return ChatGlmResponse.clean(tokenizer.decode(ids));
  }

  /** The ids after the prompt, up to and including {@code <eop>}, without the padding of finished rows. */
  private static long[] generatedIds(long[] sequence, int promptLength, GenerationConfig generation) {
    if (sequence.length <= promptLength) {
      return new long[0];
    }
    int end = sequence.length;
    for (int i = promptLength; i < sequence.length; i++) {
      if (sequence[i] == generation.stopTokenId()) {
        end = i + 1;
        break;
      }
    }
    return Arrays.copyOfRange(sequence, promptLength, end);
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

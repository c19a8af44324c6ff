package io.mmstream.model.blip2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.generation.VisualQuestionAnswering;
import io.mmstream.model.instructblip.TokenBatch;
import io.mmstream.model.opt.OptTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * BLIP-2 OPT as LAVIS' {@code Blip2OPT} runs it: the prompt is used as given ("" captions; VQA callers format
 * {@link #VQA_PROMPT}), tokenized with {@code </s>} first and cut to {@link #MAX_TEXT_TOKENS}; several prompts are
 * left-padded together as {@code predict_answers} pads them; generation stops at "\n".
 */
public final class Blip2OptModel implements VisionLanguageModel, VisualQuestionAnswering {
  /** LAVIS' {@code max_txt_len}: prompts are truncated on the right to this many tokens (bos included). */
  public static final int MAX_TEXT_TOKENS = 32;
  /** LAVIS' VQA prompt ({@code predict_answers}' template for BLIP-2). */
  public static final String VQA_PROMPT = "Question: %s Answer:";
  /** The continuations {@link #yesProbabilities} compares: what OPT would write after "Answer:". */
  public static final String YES = " yes";
  public static final String NO = " no";
  /** LAVIS {@code Blip2OPT.generate} defaults: 5 beams, at most 30 and at least 1 new tokens. */
  public static final int DEFAULT_BEAMS = 5;
  public static final int DEFAULT_MAX_NEW_TOKENS = 30;
  public static final int MIN_NEW_TOKENS = 1;

  private final Blip2OptForConditionalGeneration model;
  private final OptTokenizer tokenizer;
  private final BlipImagePreprocessor images;
  private final NDManager manager;
  private final long newlineId;

  private Blip2OptModel(Blip2OptForConditionalGeneration model, OptTokenizer tokenizer, BlipImagePreprocessor images,
      NDManager manager) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.images = images;
    this.manager = manager;
    long[] newline = tokenizer.encodePlain("\n");
    if (newline.length != 1) {
      throw new IllegalArgumentException("the tokenizer has no single token for \"\\n\" (BLIP-2 OPT's end of text)");
    }
    this.newlineId = newline[0];
  }

  public static Blip2OptModel load(Path modelDirectory, NDManager manager) throws IOException {
    Blip2OptForConditionalGeneration model = Blip2OptForConditionalGeneration.load(modelDirectory, manager);
    try {
      OptTokenizer tokenizer = OptTokenizer.open(modelDirectory);
      try {
        return new Blip2OptModel(model, tokenizer, BlipImagePreprocessor.load(modelDirectory, model.config().vision()),
            manager);
      } catch (IOException | RuntimeException e) {
        tokenizer.close();
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public Blip2OptForConditionalGeneration model() {
    return model;
  }

  @Override
  public String modelType() {
    return "blip-2/opt";
  }

  @Override
  public boolean supportsHistory() {
    return false;
  }

  /** The language model's prompt ids: {@code </s>} and the prompt, cut to {@link #MAX_TEXT_TOKENS}. */
  public long[] promptIds(String prompt) {
    long[] ids = tokenizer.encode(prompt);
    return ids.length > MAX_TEXT_TOKENS ? Arrays.copyOf(ids, MAX_TEXT_TOKENS) : ids;
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions decoding) {
    if (requests.isEmpty()) {
      return List.of();
    }
    List<PixelImage> pictures = new ArrayList<>();
    long[][] prompts = new long[requests.size()][];
    for (int i = 0; i < prompts.length; i++) {
      GenerationRequest request = requests.get(i);
      if (request.images().size() != 1) {
        throw new IllegalArgumentException("BLIP-2 takes exactly one image per request, got " + request.images().size());
      }
      pictures.add(request.images().get(0));
      prompts[i] = promptIds(request.prompt());
    }
    TokenBatch batch = TokenBatch.pad(prompts, model.textConfig().padTokenId(), true);
    GenerationConfig generation = new GenerationConfig(
        decoding.maxNewTokens() != null ? decoding.maxNewTokens() : DEFAULT_MAX_NEW_TOKENS,
        MIN_NEW_TOKENS,
        decoding.numBeams() != null ? decoding.numBeams() : DEFAULT_BEAMS,
        1f, 1f, newlineId, model.textConfig().padTokenId());
    GenerationResult result;
    try (NDManager call = manager.newSubManager()) {
      NDArray prefix = model.visualPrefix(model.encoder().encodeImages(images.pixelValues(pictures, call)));
      result = model.generate(prefix, batch.idsArray(call), batch.maskArray(call), generation, decoding.recordLogits());
    }
    List<GeneratedText> out = new ArrayList<>();
    for (int i = 0; i < prompts.length; i++) {
      long[] ids = untilStop(result.sequences()[i], newlineId);
      float[][] logits = decoding.recordLogits() ? Arrays.copyOf(result.stepLogits()[i], ids.length) : null;
      out.add(new GeneratedText(prompts[i], ids, tokenizer.decode(ids).strip(), logits));
    }
    return out;
  }

  @Override
  public String questionPrompt(String question) {
    return String.format(VQA_PROMPT, question);
  }

  @Override
  public double[] yesProbabilities(List<GenerationRequest> requests) {
    if (requests.isEmpty()) {
      return new double[0];
    }
    long[] yes = tokenizer.encodePlain(YES);
    long[] no = tokenizer.encodePlain(NO);
    long[][] prompts = new long[requests.size()][];
    List<PixelImage> pictures = new ArrayList<>();
    for (int i = 0; i < prompts.length; i++) {
      prompts[i] = promptIds(requests.get(i).prompt());
      pictures.add(requests.get(i).images().get(0));
    }
    try (NDManager call = manager.newSubManager()) {
      NDArray prefix = model.visualPrefix(model.encoder().encodeImages(images.pixelValues(pictures, call)));
      double[] logYes = continuationLogProbabilities(call, prefix, prompts, yes);
      double[] logNo = continuationLogProbabilities(call, prefix, prompts, no);
      double[] out = new double[prompts.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = 1.0 / (1.0 + Math.exp(logNo[i] - logYes[i]));
      }
      return out;
    }
  }

  /** Sum of log-probabilities of {@code continuation} after each left-padded prompt, in one teacher-forced pass. */
  private double[] continuationLogProbabilities(NDManager call, NDArray prefix, long[][] prompts, long[] continuation) {
    long[][] rows = new long[prompts.length][];
    for (int r = 0; r < rows.length; r++) {
      rows[r] = Arrays.copyOf(prompts[r], prompts[r].length + continuation.length);
      System.arraycopy(continuation, 0, rows[r], prompts[r].length, continuation.length);
    }
    TokenBatch batch = TokenBatch.pad(rows, model.textConfig().padTokenId(), true);
    NDArray embeds = model.languageModelInputs(prefix, batch.idsArray(call));
    NDArray mask = model.languageModelMask(batch.maskArray(call));
    long length = embeds.getShape().get(1);
    NDArray hidden = model.languageModel().hiddenStates(embeds, mask, null);
    // Position t predicts token t + 1: the continuation's tokens come from the positions just before them.
    long first = length - continuation.length - 1;
    NDArray logProbs = model.languageModel().logits(hidden.get(new NDIndex(":, " + first + ":" + (length - 1))))
        .toType(DataType.FLOAT32, false).logSoftmax(-1);
    NDArray targets = call.create(continuation).reshape(1, continuation.length, 1).repeat(0, rows.length);
    float[] picked = logProbs.gather(targets, 2).sum(new int[] {1, 2}).toFloatArray();
    double[] out = new double[rows.length];
    for (int r = 0; r < rows.length; r++) {
      out[r] = picked[r];
    }
    return out;
  }

  private static long[] untilStop(long[] ids, long stop) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == stop) {
        return Arrays.copyOf(ids, i + 1);
      }
    }
    return ids;
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

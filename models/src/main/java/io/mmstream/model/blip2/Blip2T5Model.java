package io.mmstream.model.blip2;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
import io.mmstream.model.t5.T5DecoderState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * BLIP-2 Flan-T5 and InstructBLIP Flan-T5 as LAVIS runs them ({@code Blip2T5.generate}, {@code Blip2T5Instruct.generate}):
 * the prompt goes to the T5 encoder as given ({@code </s>} appended; "" captions), and for InstructBLIP also to the
 * Q-Former through its BERT tokenizer; prompts of a batch are right-padded; decoding starts from
 * {@code decoder_start_token_id} and stops at {@code </s>}.
 */
public final class Blip2T5Model implements VisionLanguageModel, VisualQuestionAnswering {
  /** LAVIS' BLIP-2 VQA prompt ({@code predict_answers}' template); InstructBLIP takes the question as it is. */
  public static final String VQA_PROMPT = "Question: %s Answer:";
  /** The answers {@link #yesProbabilities} compares. */
  public static final String YES = "yes";
  public static final String NO = "no";
  /** LAVIS' {@code max_txt_len} for the Q-Former instruction (InstructBLIP), truncated on the left. */
  public static final int QFORMER_MAX_TOKENS = 128;
  public static final String QFORMER_TOKENIZER_DIR = "qformer_tokenizer";
  /** LAVIS defaults: BLIP-2 T5 5 beams, at most 30 new tokens; InstructBLIP T5 5 beams, 256, repetition penalty 1.5. */
  public static final int DEFAULT_BEAMS = 5;
  public static final int BLIP2_MAX_NEW_TOKENS = 30;
  public static final int INSTRUCT_MAX_NEW_TOKENS = 256;
  public static final float INSTRUCT_REPETITION_PENALTY = 1.5f;
  /**
   * LAVIS' {@code min_length=1}: transformers counts the decoder start token, so it never forbids an immediate
   * {@code </s>}.
   */
  public static final int LAVIS_MIN_LENGTH = 1;

  private static final Map<String, String> PLAIN =
      Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");

  private final Blip2T5ForConditionalGeneration model;
  private final HuggingFaceTokenizer tokenizer;
  private final HuggingFaceTokenizer qformerTokenizer;
  private final BlipImagePreprocessor images;
  private final NDManager manager;

  private Blip2T5Model(Blip2T5ForConditionalGeneration model, HuggingFaceTokenizer tokenizer,
      HuggingFaceTokenizer qformerTokenizer, BlipImagePreprocessor images, NDManager manager) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.qformerTokenizer = qformerTokenizer;
    this.images = images;
    this.manager = manager;
  }

  /** Loads the model, {@code tokenizer.json}, for InstructBLIP {@code qformer_tokenizer/tokenizer.json}, and image settings. */
  public static Blip2T5Model load(Path modelDirectory, NDManager manager) throws IOException {
    Blip2T5ForConditionalGeneration model = Blip2T5ForConditionalGeneration.load(modelDirectory, manager);
    HuggingFaceTokenizer tokenizer = null;
    try {
      tokenizer = tokenizer(modelDirectory.resolve("tokenizer.json"));
      HuggingFaceTokenizer qformer = model.config().instructionAware()
          ? tokenizer(modelDirectory.resolve(QFORMER_TOKENIZER_DIR).resolve("tokenizer.json"))
          : null;
      return new Blip2T5Model(model, tokenizer, qformer,
          BlipImagePreprocessor.load(modelDirectory, model.config().vision()), manager);
    } catch (IOException | RuntimeException e) {
      if (tokenizer != null) {
        tokenizer.close();
      }
      model.close();
      throw e;
    }
  }

  private static HuggingFaceTokenizer tokenizer(Path json) throws IOException {
    if (!Files.isRegularFile(json)) {
      throw new IOException(json + " not found");
    }
    return HuggingFaceTokenizer.newInstance(json, PLAIN);
  }

  public Blip2T5ForConditionalGeneration model() {
    return model;
  }

  public BlipImagePreprocessor images() {
    return images;
  }

  @Override
  public String modelType() {
    return model.config().modelType() + "/t5";
  }

  @Override
  public boolean supportsHistory() {
    return false;
  }

  /** The T5 encoder's prompt ids: the prompt and {@code </s>}. */
  public long[] promptIds(String prompt) {
    return tokenizer.encode(prompt).getIds();
  }

  /** The Q-Former's ids: {@code [CLS] prompt [SEP]}, the prompt cut on the left to fit {@link #QFORMER_MAX_TOKENS}. */
  public long[] qformerIds(String prompt) {
    long[] ids = qformerTokenizer.encode(prompt).getIds();
    if (ids.length <= QFORMER_MAX_TOKENS) {
      return ids;
    }
    long[] out = new long[QFORMER_MAX_TOKENS];
    out[0] = ids[0];
    System.arraycopy(ids, ids.length - (QFORMER_MAX_TOKENS - 1), out, 1, QFORMER_MAX_TOKENS - 1);
    return out;
  }

  /** LAVIS' defaults with the caller's overrides; lengths count the decoder start token. */
  GenerationConfig generationConfig(DecodingOptions decoding) {
    boolean instruct = model.config().instructionAware();
    int maxNew = decoding.maxNewTokens() != null
        ? decoding.maxNewTokens()
        : instruct ? INSTRUCT_MAX_NEW_TOKENS : BLIP2_MAX_NEW_TOKENS;
    boolean greedy = decoding.numBeams() != null && decoding.numBeams() == 1;
    float penalty = instruct && !greedy ? INSTRUCT_REPETITION_PENALTY : 1f;
    int beams = decoding.numBeams() != null ? decoding.numBeams() : DEFAULT_BEAMS;
    return new GenerationConfig(1 + maxNew, LAVIS_MIN_LENGTH, beams, penalty, 1f, model.textConfig().eosTokenId(),
        model.textConfig().padTokenId());
  }

  /** Visual prefixes {@code [B, Q, d_model]} of the requests (the Q-Former reads the prompts for InstructBLIP). */
  private NDArray visualPrefix(NDManager call, List<GenerationRequest> requests) {
    List<PixelImage> pictures = new ArrayList<>();
    long[][] qformerPrompts = new long[requests.size()][];
    for (int i = 0; i < requests.size(); i++) {
      GenerationRequest request = requests.get(i);
      if (request.images().size() != 1) {
        throw new IllegalArgumentException(modelType() + " takes exactly one image per request, got "
            + request.images().size());
      }
      pictures.add(request.images().get(0));
      if (qformerTokenizer != null) {
        qformerPrompts[i] = qformerIds(request.prompt());
      }
    }
    NDArray states = model.encoder().encodeImages(images.pixelValues(pictures, call));
    if (qformerTokenizer == null) {
      return model.project(model.encoder().queryOutput(states));
    }
    TokenBatch qformer = TokenBatch.pad(qformerPrompts, model.config().qformer().padTokenId(), false);
    return model.project(model.encoder().queryOutput(states, qformer.idsArray(call), qformer.maskArray(call)));
  }

  @Override
  public String questionPrompt(String question) {
    return model.config().instructionAware() ? question : String.format(VQA_PROMPT, question);
  }

  @Override
  public double[] yesProbabilities(List<GenerationRequest> requests) {
    if (requests.isEmpty()) {
      return new double[0];
    }
    long[][] prompts = new long[requests.size()][];
    for (int i = 0; i < prompts.length; i++) {
      prompts[i] = promptIds(requests.get(i).prompt());
    }
    TokenBatch batch = TokenBatch.pad(prompts, model.textConfig().padTokenId(), false);
    try (NDManager call = manager.newSubManager()) {
      NDArray mask = model.encoderMask(batch.maskArray(call));
      NDArray encoded = model.languageModel().encode(
          model.encoderInputs(visualPrefix(call, requests), batch.idsArray(call)), mask);
      double[] logYes = answerLogProbabilities(call, encoded, mask, tokenizer.encode(YES, false, false).getIds());
      double[] logNo = answerLogProbabilities(call, encoded, mask, tokenizer.encode(NO, false, false).getIds());
      double[] out = new double[prompts.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = 1.0 / (1.0 + Math.exp(logNo[i] - logYes[i]));
      }
      return out;
    }
  }

  /** Sum of log-probabilities of {@code answer} as the decoder's first tokens, teacher forced in one pass. */
  private double[] answerLogProbabilities(NDManager call, NDArray encoded, NDArray mask, long[] answer) {
    int rows = (int) encoded.getShape().get(0);
    long[][] decoderIds = new long[rows][answer.length];
    for (long[] row : decoderIds) {
      row[0] = model.textConfig().decoderStartTokenId();
      System.arraycopy(answer, 0, row, 1, answer.length - 1);
    }
    try (T5DecoderState state = model.languageModel().newDecoderState(encoded, mask)) {
      NDArray logProbs = model.languageModel().logits(model.languageModel().decode(call.create(decoderIds), state))
          .toType(DataType.FLOAT32, false).logSoftmax(-1);
      NDArray targets = call.create(answer).reshape(1, answer.length, 1).repeat(0, rows);
      float[] picked = logProbs.gather(targets, 2).sum(new int[] {1, 2}).toFloatArray();
      double[] out = new double[rows];
      for (int r = 0; r < rows; r++) {
        out[r] = picked[r];
      }
      return out;
    }
  }

  @Override
  public List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions decoding) {
    if (requests.isEmpty()) {
      return List.of();
    }
    long[][] prompts = new long[requests.size()][];
    for (int i = 0; i < prompts.length; i++) {
      prompts[i] = promptIds(requests.get(i).prompt());
    }
    TokenBatch batch = TokenBatch.pad(prompts, model.textConfig().padTokenId(), false);
    GenerationResult result;
    try (NDManager call = manager.newSubManager()) {
      result = model.generate(visualPrefix(call, requests), batch.idsArray(call), batch.maskArray(call),
          generationConfig(decoding), decoding.recordLogits());
    }
    long eos = model.textConfig().eosTokenId();
    List<GeneratedText> out = new ArrayList<>();
    for (int i = 0; i < prompts.length; i++) {
      long[] sequence = result.sequences()[i];
      long[] ids = untilStop(Arrays.copyOfRange(sequence, 1, sequence.length), eos);
      float[][] logits = decoding.recordLogits() ? Arrays.copyOf(result.stepLogits()[i], ids.length) : null;
      out.add(new GeneratedText(prompts[i], ids, tokenizer.decode(ids, true).strip(), logits));
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
    if (qformerTokenizer != null) {
      qformerTokenizer.close();
    }
    try {
      model.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

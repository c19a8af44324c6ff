package io.mmstream.model.instructblip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Instruction-prompted VQA with InstructBLIP: answers a batch of (image, instruction) requests the
 * way LAVIS' {@code generate} does, and scores yes/no instructions for moderation.
 */
public final class InstructBlipAnswerer implements AutoCloseable {
  /** The continuations compared by {@link #yesProbabilities}. */
  public static final String YES = "yes";
  public static final String NO = "no";

  private final InstructBlipForConditionalGeneration model;
  private final InstructBlipProcessor processor;
  private final NDManager manager;

  public InstructBlipAnswerer(InstructBlipForConditionalGeneration model, InstructBlipProcessor processor,
      NDManager manager) {
    this.model = model;
    this.processor = processor;
    this.manager = manager;
  }

  /** Loads model, tokenizers and image settings of {@code modelDirectory}; tensors live in {@code manager}. */
  public static InstructBlipAnswerer load(Path modelDirectory, NDManager manager, InstructBlipOptions options)
      throws IOException {
    InstructBlipForConditionalGeneration model = InstructBlipForConditionalGeneration.load(modelDirectory, manager,
        options);
    try {
      return new InstructBlipAnswerer(model, InstructBlipProcessor.load(modelDirectory, model.config()), manager);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public InstructBlipForConditionalGeneration model() {
    return model;
  }

  public InstructBlipProcessor processor() {
    return processor;
  }

  /** Answers every request in one batch (prompts left-padded together, as LAVIS batches them). */
  public List<InstructAnswer> answer(List<InstructRequest> requests, InstructGeneration settings) {
    if (requests.isEmpty()) {
      return List.of();
    }
    List<String> instructions = requests.stream().map(InstructRequest::instruction).toList();
    TokenBatch prompts = processor.promptInputs(instructions);
    GenerationConfig generation = new GenerationConfig(settings.maxNewTokens(), settings.minNewTokens(),
        settings.numBeams(), settings.repetitionPenalty(), settings.lengthPenalty(), eosId(), padId());
    GenerationResult result;
    try (NDManager call = manager.newSubManager()) {
      NDArray prefix = visualPrefix(call, requests);
      result = model.generate(prefix, prompts.idsArray(call), prompts.maskArray(call), generation,
          settings.useKvCache(), settings.recordLogits());
    }
    List<InstructAnswer> answers = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      long[] ids = untilEos(result.sequences()[i]);
      float[][] logits = settings.recordLogits() ? Arrays.copyOf(result.stepLogits()[i], ids.length) : null;
      answers.add(new InstructAnswer(instructions.get(i), ids, processor.decode(ids), logits));
    }
    return answers;
  }

  /** Answers several instructions about one image. */
  public List<InstructAnswer> answer(PixelImage image, List<String> instructions, InstructGeneration settings) {
    return answer(instructions.stream().map(i -> new InstructRequest(image, i)).toList(), settings);
  }

  /**
   * For each request, the probability that the answer continues with "yes" rather than "no":
   * {@code P(yes) / (P(yes) + P(no))}, each the product of its tokens' teacher-forced probabilities
   * after the prompt.
   */
  public double[] yesProbabilities(List<InstructRequest> requests) {
    if (requests.isEmpty()) {
      return new double[0];
    }
    long[] yes = processor.continuationIds(YES);
    long[] no = processor.continuationIds(NO);
    TokenBatch prompts = processor.promptInputs(requests.stream().map(InstructRequest::instruction).toList());
    try (NDManager call = manager.newSubManager()) {
      NDArray prefix = visualPrefix(call, requests);
      double[] logYes = continuationLogProbabilities(call, prefix, prompts, yes);
      double[] logNo = continuationLogProbabilities(call, prefix, prompts, no);
      double[] out = new double[requests.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = 1.0 / (1.0 + Math.exp(logNo[i] - logYes[i]));
      }
      return out;
    }
  }

  /** {@code P(yes) vs P(no)} for one instruction about one image. */
  public double yesProbability(PixelImage image, String instruction) {
    return yesProbabilities(List.of(new InstructRequest(image, instruction)))[0];
  }

  /** Sum of log-probabilities of {@code continuation} after each row's prompt (teacher forced, one pass). */
  private double[] continuationLogProbabilities(NDManager call, NDArray prefix, TokenBatch prompts, long[] continuation) {
    int rows = prompts.rows();
    long[][] ids = new long[rows][];
    long[][] mask = new long[rows][];
    for (int r = 0; r < rows; r++) {
      ids[r] = concat(prompts.ids()[r], continuation);
      mask[r] = concat(prompts.mask()[r], ones(continuation.length));
    }
    NDArray embeds = model.languageModelInputs(prefix, call.create(ids));
    NDArray fullMask = model.languageModelMask(call.create(mask));
    long length = embeds.getShape().get(1);
    NDArray hidden = model.languageModel().hiddenStates(
        embeds, fullMask, LlamaModel.positionsFromMask(fullMask, length), null);
    // Position t predicts token t + 1: the continuation's tokens come from the positions just before them.
    long first = length - continuation.length - 1;
    NDArray logits = model.languageModel().logits(hidden.get(new NDIndex(":, " + first + ":" + (length - 1))));
    NDArray logProbs = logits.toType(DataType.FLOAT32, false).logSoftmax(-1);
    NDArray targets = call.create(continuation).reshape(1, continuation.length, 1).repeat(0, rows);
    float[] picked = logProbs.gather(targets, 2).sum(new int[] {1, 2}).toFloatArray();
    double[] out = new double[rows];
    for (int r = 0; r < rows; r++) {
      out[r] = picked[r];
    }
    return out;
  }

  /** The visual prefix of every request; each distinct image goes through the vision tower once. */
  private NDArray visualPrefix(NDManager call, List<InstructRequest> requests) {
    Map<PixelImage, Integer> distinct = new IdentityHashMap<>();
    List<PixelImage> images = new ArrayList<>();
    long[] imageRow = new long[requests.size()];
    for (int i = 0; i < requests.size(); i++) {
      PixelImage image = requests.get(i).image();
      Integer row = distinct.get(image);
      if (row == null) {
        row = images.size();
        distinct.put(image, row);
        images.add(image);
      }
      imageRow[i] = row;
    }
    NDArray imageStates = model.encodeImages(processor.images().pixelValues(images, call));
    if (images.size() != requests.size()) {
      imageStates = imageStates.get(call.create(imageRow));
    }
    TokenBatch qformer = processor.qformerInputs(requests.stream().map(InstructRequest::instruction).toList());
    return model.visualPrefix(imageStates, qformer.idsArray(call), qformer.maskArray(call));
  }

  private long eosId() {
    return model.config().text().eosTokenIds().get(0);
  }

  private long padId() {
    return model.config().text().padTokenId();
  }

  /** Generated ids up to and including the first end-of-sequence token (the padding after it dropped). */
  private long[] untilEos(long[] sequence) {
    List<Integer> eos = model.config().text().eosTokenIds();
    for (int i = 0; i < sequence.length; i++) {
      if (eos.contains((int) sequence[i])) {
        return Arrays.copyOf(sequence, i + 1);
      }
    }
    return sequence;
  }

  private static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static long[] ones(int n) {
    long[] out = new long[n];
    Arrays.fill(out, 1L);
    return out;
  }

  @Override
  public void close() throws IOException {
    processor.close();
    model.close();
  }
}

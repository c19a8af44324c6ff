package io.mmstream.model.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.index.NDIndex;

/** transformers' MinLength and RepetitionPenalty logits processors, applied in place to {@code [rows, vocab]} scores. */
final class LogitsProcessing {
  private LogitsProcessing() {}

  static NDArray apply(NDArray scores, long[][] sequences, int length, GenerationConfig config) {
    NDArray out = scores;
    if (config.repetitionPenalty() != 1f) {
      out = penalizeRepetition(out, sequences, config.repetitionPenalty());
    }
    if (length < config.minLength()) {
      out.set(new NDIndex(":, {}", config.stopTokenId()), Float.NEGATIVE_INFINITY);
    }
    return out;
  }

  /** Every token already in a row (prompt included) gets its score divided by the penalty if positive, multiplied if negative. */
  static NDArray penalizeRepetition(NDArray scores, long[][] sequences, float penalty) {
    NDArray seen = scores.getManager().create(sequences);
    NDArray picked = scores.gather(seen, 1);
    NDArray penalized = NDArrays.where(picked.lt(0f), picked.mul(penalty), picked.div(penalty));
    return scores.scatter(seen, penalized, 1);
  }
}

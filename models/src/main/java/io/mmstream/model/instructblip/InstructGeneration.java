package io.mmstream.model.instructblip;

/**
 * How answers are generated; lengths count generated tokens (the prompt enters as embeddings).
 *
 * @param numBeams 1 for greedy search
 * @param repetitionPenalty over the generated tokens (HF generation from embeddings sees no prompt ids); 1 disables it
 * @param useKvCache false recomputes the whole sequence each step (the reference path)
 * @param recordLogits also return the raw logits each token was chosen from
 */
public record InstructGeneration(
    int maxNewTokens,
    int minNewTokens,
    int numBeams,
    float repetitionPenalty,
    float lengthPenalty,
    boolean useKvCache,
    boolean recordLogits) {

  public InstructGeneration {
    if (maxNewTokens < 1 || minNewTokens < 0 || minNewTokens > maxNewTokens) {
      throw new IllegalArgumentException(
          "need 1 <= max new tokens and 0 <= min new tokens <= max, got max " + maxNewTokens + ", min " + minNewTokens);
    }
  }

  /** LAVIS {@code Blip2VicunaInstruct.generate} defaults: 5 beams, 256 tokens at most, at least 1, penalty 1.5. */
  public static InstructGeneration lavisDefaults() {
    return new InstructGeneration(256, 1, 5, 1.5f, 1f, true, false);
  }

  /** Plain argmax decoding: no beams, no penalty, no minimum length. */
  public static InstructGeneration greedy(int maxNewTokens) {
    return new InstructGeneration(maxNewTokens, 0, 1, 1f, 1f, true, false);
  }

  public InstructGeneration withKvCache(boolean use) {
    return new InstructGeneration(maxNewTokens, minNewTokens, numBeams, repetitionPenalty, lengthPenalty, use,
        recordLogits);
  }

  public InstructGeneration withRecordLogits(boolean record) {
    return new InstructGeneration(maxNewTokens, minNewTokens, numBeams, repetitionPenalty, lengthPenalty, useKvCache,
        record);
  }
}

package io.mmstream.model.generation;

/**
 * Decoding settings with transformers' meaning, which the original BLIP code relies on: lengths
 * count the whole sequence including the prompt.
 *
 * @param maxLength stop once sequences are this long
 * @param minLength the stop token is forbidden while sequences are shorter than this
 * @param numBeams 1 for greedy search
 * @param repetitionPenalty CTRL-style: scores of tokens already in the row are divided (positive)
 *     or multiplied (negative) by it; 1 disables it
 * @param lengthPenalty beam hypotheses are ranked by {@code sum logprob / length^lengthPenalty}
 * @param stopTokenId a row that produces it is finished
 * @param padTokenId what finished rows are filled with
 */
public record GenerationConfig(
    int maxLength,
    int minLength,
    int numBeams,
    float repetitionPenalty,
    float lengthPenalty,
    long stopTokenId,
    long padTokenId) {

  public GenerationConfig {
    if (maxLength < 1 || minLength < 0 || numBeams < 1 || repetitionPenalty <= 0) {
      throw new IllegalArgumentException(
          "invalid generation settings: maxLength " + maxLength + ", minLength " + minLength + ", numBeams "
              + numBeams + ", repetitionPenalty " + repetitionPenalty);
    }
  }

  public static GenerationConfig greedy(int maxLength, long stopTokenId, long padTokenId) {
    return new GenerationConfig(maxLength, 0, 1, 1f, 1f, stopTokenId, padTokenId);
  }

  public GenerationConfig withMaxLength(int length) {
    return new GenerationConfig(length, minLength, numBeams, repetitionPenalty, lengthPenalty, stopTokenId, padTokenId);
  }

  public GenerationConfig withNumBeams(int beams) {
    return new GenerationConfig(maxLength, minLength, beams, repetitionPenalty, lengthPenalty, stopTokenId, padTokenId);
  }

  public GenerationConfig withMinLength(int length) {
    return new GenerationConfig(maxLength, length, numBeams, repetitionPenalty, lengthPenalty, stopTokenId, padTokenId);
  }

  public GenerationConfig withRepetitionPenalty(float penalty) {
    return new GenerationConfig(maxLength, minLength, numBeams, penalty, lengthPenalty, stopTokenId, padTokenId);
  }
}

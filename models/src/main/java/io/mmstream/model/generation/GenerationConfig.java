package io.mmstream.model.generation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

  /** HF's per-model generation defaults file in a model directory. */
  public static final String FILE_NAME = "generation_config.json";

  /**
   * These settings with the fields that {@code modelDirectory}'s {@code generation_config.json}
   * sets ({@code max_length}, {@code min_length}, {@code num_beams}, {@code repetition_penalty},
   * {@code length_penalty}); unchanged when the directory has no such file.
   */
  public GenerationConfig withModelDefaults(Path modelDirectory) throws IOException {
    Path file = modelDirectory.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      return this;
    }
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    return new GenerationConfig(
        root.path("max_length").asInt(maxLength),
        root.path("min_length").asInt(minLength),
        root.path("num_beams").asInt(numBeams),
        (float) root.path("repetition_penalty").asDouble(repetitionPenalty),
        (float) root.path("length_penalty").asDouble(lengthPenalty),
        stopTokenId,
        padTokenId);
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

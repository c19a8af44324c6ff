package io.mmstream.model.visualglm;

import io.mmstream.model.chatglm.ChatGlmConfig;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GenerationConfig;

/**
 * How VisualGLM decodes where {@link DecodingOptions} leaves a field open. Lengths count the prompt, as
 * {@code chat()}'s {@code max_length}/{@code min_length} do; {@code max_new_tokens} replaces {@code maxLength}.
 * Sampling (the original's default) is not offered: its draws are not reproducible across implementations.
 *
 * @param maxLength longest prompt plus reply
 * @param minLength {@code <eop>} is forbidden while the sequence is shorter
 * @param repetitionPenalty CTRL-style penalty on every id already in the sequence (prompt and image tokens too)
 */
public record VisualGlmDecoding(int maxLength, int minLength, float repetitionPenalty) {
  /** {@code chat()}'s {@code max_length}. */
  public static final int CHAT_MAX_LENGTH = 1024;
  /** {@code chat()}'s {@code min_length}. */
  public static final int CHAT_MIN_LENGTH = 100;
  /** {@code chat()}'s {@code repetition_penalty}. */
  public static final float CHAT_REPETITION_PENALTY = 1.2f;

  /** Plain greedy search: {@code chat(..., do_sample=False, min_length=0, repetition_penalty=1.0)}. */
  public static VisualGlmDecoding greedy() {
    return new VisualGlmDecoding(CHAT_MAX_LENGTH, 0, 1f);
  }

  /** {@code chat()}'s defaults with {@code do_sample=False}: repetition penalty 1.2, at least 100 tokens. */
  public static VisualGlmDecoding chatDefaults() {
    return new VisualGlmDecoding(CHAT_MAX_LENGTH, CHAT_MIN_LENGTH, CHAT_REPETITION_PENALTY);
  }

  /**
   * The settings for {@code options}: explicit greedy search (one beam) is plain argmax without penalties, as
   * {@code generate --greedy} promises; otherwise {@code chat()}'s defaults, over {@code numBeams} beams.
   */
  public static VisualGlmDecoding forOptions(DecodingOptions options) {
    return Integer.valueOf(1).equals(options.numBeams()) ? greedy() : chatDefaults();
  }

  /**
   * @param maxNewTokens replaces {@link #maxLength} when non-null
   * @param numBeams 1 for greedy search; null for 1
   */
  public GenerationConfig generationConfig(ChatGlmConfig glm, int promptLength, Integer maxNewTokens, Integer numBeams) {
    int length = maxNewTokens != null ? promptLength + maxNewTokens : maxLength;
    int beams = numBeams != null ? numBeams : 1;
    return new GenerationConfig(length, minLength, beams, repetitionPenalty, 1f, glm.eosTokenId(), glm.padTokenId());
  }
}

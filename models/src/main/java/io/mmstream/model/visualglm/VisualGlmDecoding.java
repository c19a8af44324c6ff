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

  GenerationConfig generationConfig(ChatGlmConfig glm, int promptLength, DecodingOptions options) {
    int length = options.maxNewTokens() != null ? promptLength + options.maxNewTokens() : maxLength;
    int beams = options.numBeams() != null ? options.numBeams() : 1;
    return new GenerationConfig(length, minLength, beams, repetitionPenalty, 1f, glm.eosTokenId(), glm.padTokenId());
  }
}

package io.mmstream.model.generation;

/**
 * Generated sequences, prompt included; a row that stopped early is filled with the pad token up to
 * the longest row (as transformers returns them).
 *
 * @param sequences {@code [batch][length]}
 * @param stepLogits when requested, {@code [batch][step][vocab]}: the decoder's raw logits from
 *     which each generated token was chosen (for beam search, along the returned hypothesis); else null
 */
public record GenerationResult(long[][] sequences, float[][][] stepLogits) {}

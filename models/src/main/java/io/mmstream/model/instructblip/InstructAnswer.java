package io.mmstream.model.instructblip;

/**
 * A generated answer.
 *
 * @param ids generated token ids, up to and including the end-of-sequence token when one was produced
 * @param stepLogits raw logits each generated token was chosen from, {@code [step][vocab]}; null unless asked for
 */
public record InstructAnswer(String instruction, long[] ids, String text, float[][] stepLogits) {}

package io.mmstream.model.generation;

/**
 * What a model generated for one request.
 *
 * @param promptIds the prompt's token ids as the model's original defines its prompt (the fixtures' prompt_ids)
 * @param ids the generated ids, up to and including the stop token when one was produced
 * @param text the reply after the model's own post-processing (stop strings cut, clean-up applied)
 * @param stepLogits {@code [step][vocab]} raw logits each generated id was chosen from; null unless asked for
 */
public record GeneratedText(long[] promptIds, long[] ids, String text, float[][] stepLogits) {}

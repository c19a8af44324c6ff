package io.mmstream.model.generation;

/**
 * What a model generated for one request.
 *
 * @param promptIds the prompt's token ids as the model's original defines its prompt (the fixtures' prompt_ids)
 * @param ids the generated ids, up to and including the stop token when one was produced
 * @param text the reply after the model's own post-processing (stop strings cut, clean-up applied)
 * @param stepLogits {@code [step][vocab]} raw logits each generated id was chosen from; null unless asked for
 * @param droppedTurns how many of the request's oldest history turns were left out so that the prompt fits the
 *     model's context (see {@link io.mmstream.model.chat.HistoryWindow}); 0 when the whole history fitted
 */
public record GeneratedText(long[] promptIds, long[] ids, String text, float[][] stepLogits, int droppedTurns) {

  /** A reply whose prompt held the whole history. */
  public GeneratedText(long[] promptIds, long[] ids, String text, float[][] stepLogits) {
    this(promptIds, ids, text, stepLogits, 0);
  }
}

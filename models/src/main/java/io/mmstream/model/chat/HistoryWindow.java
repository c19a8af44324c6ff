package io.mmstream.model.chat;

import io.mmstream.model.generation.ChatTurn;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Fits a conversation into a model's context by leaving out its oldest turns, as every chat model here must:
 * the prompt (system text, the kept turns, the new question, image tokens) plus the tokens to be generated may
 * not exceed the positions the language model has. The caller learns how many turns were left out, and says so
 * in its reply ({@link io.mmstream.model.generation.GeneratedText#droppedTurns()}).
 *
 * <p>The model measures a candidate prompt with its own template and tokenizer ({@code promptTokens}), so the
 * rule is the same for every family while the counting stays exact for each.
 */
public final class HistoryWindow {
  private HistoryWindow() {}

  /** The turns that fit (newest kept, order unchanged) and how many oldest turns were left out. */
  public record Fitted(List<ChatTurn> history, int droppedTurns) {
    public Fitted {
      history = List.copyOf(history);
    }
  }

  /**
   * Drops turns from the oldest until {@code promptTokens(kept) + newTokens <= contextTokens}: the fewest dropped
   * turns that fit. The prompt only grows with the turns it holds, so the count is found by bisection (a few
   * measurements instead of one per turn; each measurement tokenizes a whole prompt).
   *
   * @param promptTokens the prompt's length in the language model's positions for a given history
   * @throws IllegalArgumentException when even the question alone, without history, does not fit
   */
  public static Fitted fit(
      List<ChatTurn> history, int contextTokens, int newTokens, ToIntFunction<List<ChatTurn>> promptTokens) {
    int budget = contextTokens - newTokens;
    int turns = history.size();
    if (promptTokens.applyAsInt(history) <= budget) {
      return new Fitted(history, 0);
    }
    int alone = promptTokens.applyAsInt(List.of());
    if (alone > budget) {
      throw new IllegalArgumentException("the prompt alone takes " + alone + " of the model's " + contextTokens
          + " positions, leaving fewer than the " + newTokens + " new tokens asked for");
    }
    // Dropping `low` turns does not fit, dropping `high` does.
    int low = 0;
    int high = turns;
    while (high - low > 1) {
      int middle = (low + high) >>> 1;
      if (promptTokens.applyAsInt(history.subList(middle, turns)) <= budget) {
        high = middle;
      } else {
        low = middle;
      }
    }
    return new Fitted(history.subList(high, turns), high);
  }
}

package io.mmstream.model.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.model.generation.ChatTurn;
import java.util.List;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

class HistoryWindowTest {
  private static final List<ChatTurn> HISTORY =
      List.of(new ChatTurn("a", "1"), new ChatTurn("b", "2"), new ChatTurn("c", "3"));
  /** A 10-position question plus 5 positions per kept turn. */
  private static final ToIntFunction<List<ChatTurn>> LENGTH = turns -> 10 + 5 * turns.size();

  @Test
  void wholeHistoryKeptWhenItFits() {
    HistoryWindow.Fitted fitted = HistoryWindow.fit(HISTORY, 100, 10, LENGTH);
    assertThat(fitted.history()).isEqualTo(HISTORY);
    assertThat(fitted.droppedTurns()).isZero();
  }

  @Test
  void oldestTurnsGoFirstUntilPromptAndNewTokensFit() {
    HistoryWindow.Fitted fitted = HistoryWindow.fit(HISTORY, 29, 10, LENGTH);
    assertThat(fitted.history()).containsExactly(new ChatTurn("c", "3"));
    assertThat(fitted.droppedTurns()).isEqualTo(2);
    assertThat(HistoryWindow.fit(HISTORY, 20, 10, LENGTH).droppedTurns()).isEqualTo(3);
  }

  @Test
  void everyHistoryLengthAndBudgetGivesTheFewestDroppedTurnsThatFit() {
    for (int turns = 0; turns <= 9; turns++) {
      List<ChatTurn> history = java.util.Collections.nCopies(turns, new ChatTurn("q", "a"));
      for (int context = 20; context <= 70; context++) {
        HistoryWindow.Fitted fitted = HistoryWindow.fit(history, context, 10, LENGTH);
        int expected = 0;
        while (10 + 5 * (turns - expected) + 10 > context) {
          expected++;
        }
        assertThat(fitted.droppedTurns()).as(turns + " turns, context " + context).isEqualTo(expected);
        assertThat(fitted.history()).hasSize(turns - expected);
      }
    }
  }

  @Test
  void questionThatCannotFitIsRefused() {
    assertThatThrownBy(() -> HistoryWindow.fit(HISTORY, 15, 10, LENGTH))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("10 of the model's 15 positions");
  }
}

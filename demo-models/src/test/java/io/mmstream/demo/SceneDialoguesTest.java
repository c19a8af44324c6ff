package io.mmstream.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mmstream.demo.SceneGenerator.Scene;
import io.mmstream.demo.SceneGenerator.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The conversations' answers are the scene's ground truth, and "it" means the previous turn's shape. */
class SceneDialoguesTest {
  @Test
  void followUpsAnswerForTheShapeThePreviousTurnNamed() {
    SceneGenerator scenes = new SceneGenerator(5, SceneGenerator.SAMPLE_SIZE);
    SceneDialogues dialogues = new SceneDialogues(6);
    int followUps = 0;
    for (int c = 0; c < 300; c++) {
      Scene scene = scenes.next();
      List<SceneDialogues.Turn> turns = dialogues.next(scene);
      assertTrue(turns.size() >= SceneDialogues.MIN_TURNS && turns.size() <= SceneDialogues.MAX_TURNS);
      assertFalse(turns.get(0).followUp(), "a conversation cannot start with 'it'");
      Shape subject = null;
      for (SceneDialogues.Turn turn : turns) {
        Shape named = scene.shapes().stream().filter(s -> turn.question().contains(" " + s.kind().word() + "?"))
            .findFirst().orElse(null);
        if (turn.followUp()) {
          followUps++;
          assertTrue(turn.question().endsWith(" it?"), turn.question());
          assertTrue(subject != null, "a follow-up comes after a turn about one shape");
          assertEquals(turn.question().startsWith("where") ? SceneDialogues.where(subject) : subject.color().word(),
              turn.answer(), turn.question());
        } else if (named != null) {
          subject = named;
          assertEquals(turn.question().startsWith("where") ? SceneDialogues.where(named) : named.color().word(),
              turn.answer(), turn.question());
        } else {
          subject = null;
          assertTrue(turn.answer().equals(scene.caption()) || List.of("one", "two", "three").contains(turn.answer()),
              turn.question() + " -> " + turn.answer());
        }
      }
    }
    assertTrue(followUps > 150, followUps + " follow-ups in 300 conversations");
  }

  @Test
  void theDemoConversationAsksWhereTheLeftmostShapeIsThenItsColour() {
    Scene scene = DemoSamples.scenes().get(0);
    List<SceneDialogues.Turn> turns = SceneDialogues.sample(scene);
    Shape leftmost = scene.shapes().get(0);
    assertEquals(List.of(
        new SceneDialogues.Turn("where is the " + leftmost.kind().word() + "?", SceneDialogues.where(leftmost), false),
        new SceneDialogues.Turn("what colour is it?", leftmost.color().word(), true)), turns);
  }
}

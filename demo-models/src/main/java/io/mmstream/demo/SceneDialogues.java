package io.mmstream.demo;

import io.mmstream.demo.SceneGenerator.Scene;
import io.mmstream.demo.SceneGenerator.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Short conversations about a scene with exact answers, for the demo chat model: what is there, where a shape is,
 * its colour, how many shapes, and follow-ups that say "it" for the shape the previous turn was about, so their
 * answer needs the history. The demo chat model is trained and evaluated on these; the conversation demo asks
 * {@link #sample}.
 */
public final class SceneDialogues {
  /** Questions asked about one scene: the chat model's training and held-out conversations have 2 or 3. */
  public static final int MIN_TURNS = 2;
  public static final int MAX_TURNS = 3;

  private static final String[] COUNT_WORDS = {"zero", "one", "two", "three"};

  /**
   * One question and its exact answer.
   *
   * @param followUp the question says "it" for the shape of the previous turn: only the history tells which
   */
  public record Turn(String question, String answer, boolean followUp) {}

  private final Random random;

  public SceneDialogues(long seed) {
    this.random = new Random(seed);
  }

  /**
   * The demo's two-turn conversation about {@code scene}: "where is the (leftmost shape)?", then "what colour is
   * it?", whose answer needs the first turn.
   */
  public static List<Turn> sample(Scene scene) {
    Shape shape = scene.shapes().get(0);
    return List.of(new Turn("where is the " + shape.kind().word() + "?", where(shape), false),
        new Turn("what colour is it?", shape.color().word(), true));
  }

  /** The answer to "where is ...?": "on the left", "in the center" or "on the right". */
  public static String where(Shape shape) {
    return switch (shape.region()) {
      case LEFT -> "on the left";
      case CENTER -> "in the center";
      case RIGHT -> "on the right";
    };
  }

  /** The words these conversations use beyond {@link DemoVocabulary#words()}. */
  public static List<String> extraWords() {
    return List.of("colour", "it", "on", "in");
  }

  /**
   * A conversation of {@link #MIN_TURNS} to {@link #MAX_TURNS} turns: each turn either asks about the scene
   * (its shapes, their number, where a shape is or its colour) or, after a turn about one shape, asks the other
   * thing about "it".
   */
  public List<Turn> next(Scene scene) {
    int turns = MIN_TURNS + random.nextInt(MAX_TURNS - MIN_TURNS + 1);
    List<Turn> out = new ArrayList<>();
    Shape subject = null;
    for (int t = 0; t < turns; t++) {
      if (subject != null && random.nextInt(10) < 7) {
        boolean askColour = random.nextBoolean();
        out.add(askColour ? new Turn("what " + colourWord() + " is it?", subject.color().word(), true)
            : new Turn("where is it?", where(subject), true));
        continue;
      }
      int kind = random.nextInt(10);
      if (kind < 3) {
        out.add(new Turn("what shapes are there?", scene.caption(), false));
        subject = null;
      } else if (kind < 4) {
        out.add(new Turn("how many shapes are there?", COUNT_WORDS[scene.shapes().size()], false));
        subject = null;
      } else {
        subject = scene.shapes().get(random.nextInt(scene.shapes().size()));
        String name = subject.kind().word();
        out.add(kind < 7 ? new Turn("where is the " + name + "?", where(subject), false)
            : new Turn("what " + colourWord() + " is the " + name + "?", subject.color().word(), false));
      }
    }
    return out;
  }

  /** Both spellings: people type either. */
  private String colourWord() {
    return random.nextBoolean() ? "color" : "colour";
  }
}

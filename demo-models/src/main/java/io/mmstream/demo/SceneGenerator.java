package io.mmstream.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Polygon;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Synthetic scenes of 1 to 3 coloured shapes with their ground truth: tags, a caption and
 * question/answer pairs. The demo models are trained and evaluated on these, and the demo's sample
 * images are drawn by it, so a person can check every printed tag, caption and answer by eye.
 */
public final class SceneGenerator {

  public enum ShapeKind {
    CIRCLE, SQUARE, TRIANGLE, STAR;

    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Named colours, far enough apart to be told apart after resizing to a few dozen pixels. */
  public enum ShapeColor {
    RED(220, 30, 30), GREEN(30, 170, 40), BLUE(30, 60, 220), YELLOW(240, 220, 20),
    PURPLE(140, 40, 180), ORANGE(250, 140, 0);

    private final Color color;

    ShapeColor(int r, int g, int b) {
      this.color = new Color(r, g, b);
    }

    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }

    public Color awt() {
      return color;
    }
  }

  /** Where a shape's centre falls in the frame, in words used by captions and answers. */
  public enum Region {
    LEFT, CENTER, RIGHT;

    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public record Shape(ShapeKind kind, ShapeColor color, Region region, int cx, int cy, int size) {
    public String phrase() {
      return color.word() + " " + kind.word();
    }
  }

  public record QuestionAnswer(String question, String answer) {}

  public record Scene(BufferedImage image, List<Shape> shapes, String caption, List<String> tags,
                      List<QuestionAnswer> questions) {}

  private static final Color[] BACKGROUNDS = {
    Color.WHITE, new Color(30, 30, 30), new Color(200, 200, 200), new Color(235, 225, 200), new Color(200, 225, 240)
  };
  private static final String[] COUNT_WORDS = {"zero", "one", "two", "three"};

  /** Side of the demo's sample images; the demo models train and are evaluated on scenes of this size. */
  public static final int SAMPLE_SIZE = 128;

  private final Random random;
  private final int size;

  public SceneGenerator(long seed, int size) {
    this.random = new Random(seed);
    this.size = size;
  }

  /** The next scene: 1 to 3 shapes of distinct kinds, each in its own region. */
  public Scene next() {
    int count = 1 + random.nextInt(3);
    List<ShapeKind> kinds = new ArrayList<>(List.of(ShapeKind.values()));
    List<Region> regions = new ArrayList<>(List.of(Region.values()));
    java.util.Collections.shuffle(kinds, random);
    java.util.Collections.shuffle(regions, random);
    List<Region> used = new ArrayList<>(regions.subList(0, count));
    used.sort(null);
    List<Shape> shapes = new ArrayList<>();
    int column = size / 3;
    for (int i = 0; i < count; i++) {
      Region region = used.get(i);
      // Shapes nearly fill their third of the frame: at the models' 64 pixels, circle against
      // square and star against triangle need every pixel they can get.
      int shapeSize = column * (80 + random.nextInt(20)) / 100;
      int cx = region.ordinal() * column + column / 2 + random.nextInt(column / 6 + 1) - column / 12;
      int cy = size / 2 + random.nextInt(size / 3) - size / 6;
      ShapeColor color = ShapeColor.values()[random.nextInt(ShapeColor.values().length)];
      shapes.add(new Shape(kinds.get(i), color, region, cx, cy, shapeSize));
    }
    Color background = BACKGROUNDS[random.nextInt(BACKGROUNDS.length)];
    return new Scene(draw(shapes, background), shapes, caption(shapes), tags(shapes), questions(shapes));
  }

  private BufferedImage draw(List<Shape> shapes, Color background) {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_3BYTE_BGR);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(background);
    g.fillRect(0, 0, size, size);
    for (Shape s : shapes) {
      g.setColor(s.color().awt());
      int half = s.size() / 2;
      switch (s.kind()) {
        case CIRCLE -> g.fillOval(s.cx() - half, s.cy() - half, s.size(), s.size());
        case SQUARE -> g.fillRect(s.cx() - half, s.cy() - half, s.size(), s.size());
        case TRIANGLE -> g.fillPolygon(
            new int[] {s.cx(), s.cx() - half, s.cx() + half},
            new int[] {s.cy() - half, s.cy() + half, s.cy() + half}, 3);
        case STAR -> g.fillPolygon(star(s.cx(), s.cy(), half));
      }
    }
    g.setStroke(new BasicStroke(1));
    g.dispose();
    return image;
  }

  private static Polygon star(int cx, int cy, int outer) {
    Polygon p = new Polygon();
    double inner = outer * 0.45;
    for (int i = 0; i < 10; i++) {
      double r = i % 2 == 0 ? outer : inner;
      double angle = -Math.PI / 2 + i * Math.PI / 5;
      p.addPoint((int) Math.round(cx + r * Math.cos(angle)), (int) Math.round(cy + r * Math.sin(angle)));
    }
    return p;
  }

  /** "a red circle and a blue square", shapes listed left to right. */
  static String caption(List<Shape> shapes) {
    List<String> parts = new ArrayList<>();
    for (Shape s : shapes) {
      parts.add(article(s.phrase()) + " " + s.phrase());
    }
    if (parts.size() == 1) {
      return parts.get(0);
    }
    return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
  }

  private static String article(String phrase) {
    return "aeiou".indexOf(phrase.charAt(0)) >= 0 ? "an" : "a";
  }

  static List<String> tags(List<Shape> shapes) {
    List<String> tags = new ArrayList<>();
    for (Shape s : shapes) {
      tags.add(s.phrase());
    }
    return tags;
  }

  private List<QuestionAnswer> questions(List<Shape> shapes) {
    List<QuestionAnswer> qa = new ArrayList<>();
    for (Shape s : shapes) {
      qa.add(new QuestionAnswer("what color is the " + s.kind().word() + "?", s.color().word()));
      qa.add(new QuestionAnswer("where is the " + s.kind().word() + "?", s.region().word()));
    }
    qa.add(new QuestionAnswer("how many shapes are there?", COUNT_WORDS[shapes.size()]));
    ShapeKind asked = ShapeKind.values()[random.nextInt(ShapeKind.values().length)];
    boolean present = shapes.stream().anyMatch(s -> s.kind() == asked);
    qa.add(new QuestionAnswer("is there " + article(asked.word()) + " " + asked.word() + "?", present ? "yes" : "no"));
    return qa;
  }
}

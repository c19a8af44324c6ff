package io.mmstream.demo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Every word the scenes' captions, tags, questions and answers use, plus the prompt words of the
 * demo label sets and the caption prompt. The demo models' tokenizers hold these as whole tokens.
 */
public final class DemoVocabulary {
  private DemoVocabulary() {}

  private static final List<String> FIXED_WORDS = List.of(
      "a", "an", "and", "picture", "photo", "of", "the", "what", "color", "is", "where", "how", "many",
      "shapes", "shape", "are", "there", "yes", "no", "zero", "one", "two", "three");

  /** Punctuation the texts contain; each is its own token. */
  public static final List<String> PUNCTUATION = List.of(".", ",", "?");

  public static List<String> words() {
    Set<String> words = new LinkedHashSet<>(FIXED_WORDS);
    Arrays.stream(SceneGenerator.ShapeColor.values()).map(SceneGenerator.ShapeColor::word).forEach(words::add);
    Arrays.stream(SceneGenerator.ShapeKind.values()).map(SceneGenerator.ShapeKind::word).forEach(words::add);
    Arrays.stream(SceneGenerator.Region.values()).map(SceneGenerator.Region::word).forEach(words::add);
    return new ArrayList<>(words);
  }
}

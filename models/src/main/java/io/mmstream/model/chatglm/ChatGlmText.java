package io.mmstream.model.chatglm;

import java.util.ArrayList;
import java.util.List;

/**
 * The text rules ChatGLM's tokenizer ({@code tokenization_chatglm.py}) applies around sentencepiece: newlines,
 * tabs and runs of 2 to 80 spaces become the vocabulary's {@code <n>}, {@code <|tab|>} and
 * {@code <|blank_n|>} pieces before encoding and go back after decoding; special-token strings in the text are
 * split out first (transformers' "no split" tokens, whitespace around them stripped); decoded text gets
 * transformers' {@code clean_up_tokenization}.
 */
public final class ChatGlmText {
  /** Longest run of spaces with a piece of its own ({@code max_blank_length}). */
  public static final int MAX_BLANK_LENGTH = 80;
  public static final String NEWLINE_PIECE = "<n>";
  public static final String TAB_PIECE = "<|tab|>";

  /** A stretch of text, or a special token met in it. */
  public record Chunk(String text, boolean special) {}

  private static final String[][] CLEAN_UP = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"},
    {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };

  private ChatGlmText() {}

  public static String blankPiece(int length) {
    return "<|blank_" + length + "|>";
  }

  /** {@code SPTokenizer._preprocess}: newlines, tabs, then space runs longest first. */
  public static String preprocess(String text) {
    String out = text.replace("\n", NEWLINE_PIECE).replace("\t", TAB_PIECE);
    for (int n = MAX_BLANK_LENGTH; n >= 2; n--) {
      out = out.replace(" ".repeat(n), blankPiece(n));
    }
    return out;
  }

  /** {@code SPTokenizer._postprocess}: the pieces back to whitespace. */
  public static String postprocess(String text) {
    String out = text.replace(NEWLINE_PIECE, "\n").replace(TAB_PIECE, "\t");
    for (int n = 2; n <= MAX_BLANK_LENGTH; n++) {
      out = out.replace(blankPiece(n), " ".repeat(n));
    }
    return out;
  }

  /** transformers' {@code clean_up_tokenization}. */
  public static String cleanUpTokenization(String text) {
    String out = text;
    for (String[] rule : CLEAN_UP) {
      out = out.replace(rule[0], rule[1]);
    }
    return out;
  }

  /**
   * Splits {@code text} at every occurrence of a {@code special} string (longest first where two start at the
   * same place), stripping the whitespace next to each special token and dropping empty stretches, as the slow
   * transformers tokenizer does before tokenizing.
   */
  public static List<Chunk> splitSpecial(String text, List<String> special) {
    List<Chunk> raw = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < text.length()) {
      String found = null;
      for (String s : special) {
        if (text.startsWith(s, i) && (found == null || s.length() > found.length())) {
          found = s;
        }
      }
      if (found == null) {
        i++;
        continue;
      }
      raw.add(new Chunk(text.substring(start, i), false));
      raw.add(new Chunk(found, true));
      i += found.length();
      start = i;
    }
    raw.add(new Chunk(text.substring(start), false));
    List<Chunk> out = new ArrayList<>();
    for (int k = 0; k < raw.size(); k++) {
      Chunk c = raw.get(k);
      if (c.special()) {
        out.add(c);
        continue;
      }
      String t = c.text();
      if (k > 0 && raw.get(k - 1).special()) {
        t = t.stripLeading();
      }
      if (k + 1 < raw.size() && raw.get(k + 1).special()) {
        t = t.stripTrailing();
      }
      if (!t.isEmpty()) {
        out.add(new Chunk(t, false));
      }
    }
    return out;
  }
}

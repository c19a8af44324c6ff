package io.mmstream.model.qwen;

import io.mmstream.model.generation.ChatTurn;
import java.util.ArrayList;
import java.util.List;

/**
 * Qwen's {@code make_context} for {@code chat_format == "chatml"}: the prompt text and its ids, each role, newline and
 * content encoded on its own (BPE never merges across them; inside roles and contents only the image and grounding
 * tags are special, so a typed {@code <|im_start|>} stays text). History turns are taken newest first while the
 * context stays under {@code maxWindowSize} ids and the rest, the oldest, are dropped, as the original does.
 *
 * @param system the system message ({@code "You are a helpful assistant."} in chat())
 * @param maxWindowSize generation_config.json's {@code max_window_size}
 */
public record ChatMlTemplate(String system, int maxWindowSize) {
  public static final String DEFAULT_SYSTEM = "You are a helpful assistant.";
  /** The original's default {@code max_window_size} when generation_config.json has none. */
  public static final int DEFAULT_MAX_WINDOW_SIZE = 6144;

  /**
   * The prompt as the model reads it.
   *
   * @param rawText the prompt as one string ({@code raw_text} of the original)
   * @param ids the model's input ids
   * @param keptTurns how many of the newest history turns fit the window (the others were left out)
   */
  public record Prompt(String rawText, long[] ids, int keptTurns) {}

  public Prompt build(QwenTokenizer tokenizer, List<ChatTurn> history, String query) {
    long imStart = tokenizer.id(QwenTokenizer.IM_START);
    long imEnd = tokenizer.id(QwenTokenizer.IM_END);
    long[] newline = tokenizer.encode("\n");
    List<long[]> system = List.of(new long[] {imStart}, role(tokenizer, "system", this.system), new long[] {imEnd});
    int systemLength = length(system);

    List<long[]> context = new ArrayList<>();
    StringBuilder rawTurns = new StringBuilder();
    int kept = 0;
    for (int i = history.size() - 1; i >= 0; i--) {
      ChatTurn turn = history.get(i);
      List<long[]> next = List.of(
          newline, new long[] {imStart}, role(tokenizer, "user", turn.user()), new long[] {imEnd},
          newline, new long[] {imStart}, role(tokenizer, "assistant", turn.assistant()), new long[] {imEnd});
      if (systemLength + length(next) + length(context) >= maxWindowSize) {
        break;
      }
      context.addAll(0, next);
      rawTurns.insert(0, "\n" + QwenTokenizer.IM_START + "user\n" + turn.user() + QwenTokenizer.IM_END
          + "\n" + QwenTokenizer.IM_START + "assistant\n" + turn.assistant() + QwenTokenizer.IM_END);
      kept++;
    }
    List<long[]> all = new ArrayList<>(system);
    all.addAll(context);
    all.addAll(List.of(newline, new long[] {imStart}, role(tokenizer, "user", query), new long[] {imEnd},
        newline, new long[] {imStart}, tokenizer.encode("assistant"), newline));
    String raw = QwenTokenizer.IM_START + "system\n" + system() + QwenTokenizer.IM_END + rawTurns
        + "\n" + QwenTokenizer.IM_START + "user\n" + query + QwenTokenizer.IM_END
        + "\n" + QwenTokenizer.IM_START + "assistant\n";
    return new Prompt(raw, concat(all), kept);
  }

  /** {@code _tokenize_str(role, content)}: the role, a newline and the content, each encoded separately. */
  private static long[] role(QwenTokenizer tokenizer, String role, String content) {
    return concat(List.of(
        tokenizer.encode(role, QwenTokenizer.IMAGE_SPECIALS),
        tokenizer.encode("\n"),
        tokenizer.encode(content, QwenTokenizer.IMAGE_SPECIALS)));
  }

  private static int length(List<long[]> parts) {
    int n = 0;
    for (long[] p : parts) {
      n += p.length;
    }
    return n;
  }

  private static long[] concat(List<long[]> parts) {
    long[] out = new long[length(parts)];
    int at = 0;
    for (long[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}

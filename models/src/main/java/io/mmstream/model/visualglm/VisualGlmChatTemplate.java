package io.mmstream.model.visualglm;

import io.mmstream.model.generation.ChatTurn;
import java.util.List;

/**
 * The prompt text of VisualGLM's {@code chat()} ({@code build_inputs_with_image}): {@code <img></img>} when there
 * is an image, each earlier turn as {@code 问：{q}\n答：{r}\n}, then {@code 问：{query}\n答：}. (The {@code [Round i]}
 * form belongs to text-only ChatGLM's {@code build_inputs}, which this chat does not use.)
 *
 * <p>The original writes the image path between the tags and then removes it ({@code process_image}); the text is
 * split right after {@code <img>}, and each side is tokenized on its own (so each gets its own dummy prefix), with
 * the image tokens between them. Only text is kept in the history.
 *
 * @param imageOpen opens the image slot
 * @param imageClose closes it
 * @param userPrefix before each user turn
 * @param assistantPrefix before each reply
 * @param turnEnd after a user turn and after a reply
 */
public record VisualGlmChatTemplate(
    String imageOpen, String imageClose, String userPrefix, String assistantPrefix, String turnEnd) {

  public static final VisualGlmChatTemplate ORIGINAL = new VisualGlmChatTemplate("<img>", "</img>", "问：", "答：", "\n");

  /**
   * The prompt's text split at the image slot.
   *
   * @param beforeImage tokenized alone, then the image tokens; empty without an image
   * @param afterImage the rest (the whole prompt without an image)
   */
  public record Segments(boolean hasImage, String beforeImage, String afterImage) {}

  public Segments segments(boolean hasImage, List<ChatTurn> history, String query) {
    StringBuilder text = new StringBuilder();
    if (hasImage) {
      text.append(imageClose);
    }
    for (ChatTurn turn : history) {
      text.append(userPrefix).append(turn.user()).append(turnEnd)
          .append(assistantPrefix).append(turn.assistant()).append(turnEnd);
    }
    text.append(userPrefix).append(query).append(turnEnd).append(assistantPrefix);
    return new Segments(hasImage, hasImage ? imageOpen : "", text.toString());
  }
}

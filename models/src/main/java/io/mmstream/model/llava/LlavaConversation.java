package io.mmstream.model.llava;

import io.mmstream.model.generation.ChatTurn;
import java.util.List;

/**
 * A LLaVA conversation template ({@code llava/conversation.py}, {@code SeparatorStyle.TWO}) as data, and the
 * prompt it builds: {@code system + sep}, then per message {@code role + ": " + message} followed by {@code sep}
 * after a user message and {@code sep2} after an assistant message, and finally {@code assistantRole + ":"}.
 * The image goes into the first user message as {@code "<image>\n" + text}, as {@code llava/serve/cli.py} puts
 * it; replies in the history are the text the original kept (its {@code tokenizer.decode(...).strip()}, which
 * may end in {@code </s>}).
 *
 * @param system the system text
 * @param userRole the role name of user messages
 * @param assistantRole the role name of replies
 * @param sep follows the system text and each user message
 * @param sep2 follows each reply; also the original's stop string
 */
public record LlavaConversation(String system, String userRole, String assistantRole, String sep, String sep2) {
  /** Where an image goes in a message; {@code tokenizer_image_token} splits the prompt on it. */
  public static final String IMAGE_PLACEHOLDER = "<image>";

  /** {@code conv_llava_v1}, the template of LLaVA-1.5 ({@code --conv-mode llava_v1}). */
  public static final LlavaConversation LLAVA_V1 = new LlavaConversation(
      "A chat between a curious human and an artificial intelligence assistant. "
          + "The assistant gives helpful, detailed, and polite answers to the human's questions.",
      "USER", "ASSISTANT", " ", "</s>");

  /**
   * The prompt for {@code question} after {@code history}; with {@code withImage} the first user message (the
   * oldest kept turn's, or the question) starts with the image placeholder.
   */
  public String prompt(List<ChatTurn> history, String question, boolean withImage) {
    StringBuilder out = new StringBuilder(system).append(sep);
    boolean first = true;
    for (ChatTurn turn : history) {
      out.append(userRole).append(": ").append(userMessage(turn.user(), first && withImage)).append(sep);
      out.append(assistantRole).append(": ").append(turn.assistant()).append(sep2);
      first = false;
    }
    out.append(userRole).append(": ").append(userMessage(question, first && withImage)).append(sep);
    return out.append(assistantRole).append(":").toString();
  }

  private static String userMessage(String text, boolean image) {
    return image ? IMAGE_PLACEHOLDER + "\n" + text : text;
  }

  /** The original's response post-processing: the decoded reply without surrounding whitespace. */
  public String reply(String decoded) {
    return decoded.strip();
  }
}

package io.mmstream.model.minigpt4;

import io.mmstream.model.generation.ChatTurn;
import java.util.ArrayList;
import java.util.List;

/**
 * The original's conversation template ({@code CONV_VISION} of {@code minigpt4/conversation/conversation.py},
 * {@code SeparatorStyle.SINGLE}) as data, and the small functions {@code Chat} applies with it: the prompt text with
 * history, its split around the image, and the answer clean-up.
 *
 * @param system the system text the prompt starts with
 * @param userRole {@code Human}
 * @param assistantRole {@code Assistant}
 * @param separator {@code ###}: ends the system text and every message; also the stop string
 * @param imageMessage what {@code Chat.upload_img} adds as the user's first message
 * @param imagePlaceholder where the image rows go
 */
public record MiniGpt4Conversation(
    String system, String userRole, String assistantRole, String separator, String imageMessage,
    String imagePlaceholder) {

  /** MiniGPT-4 v1 (Vicuna v0). */
  public static final MiniGpt4Conversation VISION = new MiniGpt4Conversation(
      "Give the following image: <Img>ImageContent</Img>. "
          + "You will be able to see the image once I provide it to you. Please answer my questions.",
      "Human", "Assistant", "###", "<Img><ImageHere></Img>", "<ImageHere>");

  private record Message(String role, String text) {}

  /**
   * {@code get_prompt()} after {@code upload_img}, the earlier turns and {@code ask(prompt)}: the first user text
   * joins the image message with a space, answers re-enter as their text, and the prompt ends with the assistant's
   * role awaiting the reply. An empty message is written as the bare role, as the original's {@code if message:}.
   */
  public String prompt(List<ChatTurn> history, String userText) {
    List<Message> messages = new ArrayList<>();
    List<String> userTexts = new ArrayList<>();
    history.forEach(t -> userTexts.add(t.user()));
    userTexts.add(userText);
    for (int i = 0; i < userTexts.size(); i++) {
      String user = i == 0 ? imageMessage + " " + userTexts.get(i) : userTexts.get(i);
      messages.add(new Message(userRole, user));
      messages.add(new Message(assistantRole, i < history.size() ? history.get(i).assistant() : null));
    }
    StringBuilder out = new StringBuilder(system).append(separator);
    for (Message m : messages) {
      if (m.text() != null && !m.text().isEmpty()) {
        out.append(m.role()).append(": ").append(m.text()).append(separator);
      } else {
        out.append(m.role()).append(':');
      }
    }
    return out.toString();
  }

  /** The prompt's text around the image placeholder ({@code prompt.split('<ImageHere>')}), tokenized apart. */
  public List<String> segments(String prompt) {
    List<String> out = new ArrayList<>();
    int from = 0;
    for (int at = prompt.indexOf(imagePlaceholder); at >= 0; at = prompt.indexOf(imagePlaceholder, from)) {
      out.add(prompt.substring(from, at));
      from = at + imagePlaceholder.length();
    }
    out.add(prompt.substring(from));
    return out;
  }

  /**
   * {@code Chat.answer}'s clean-up of the decoded reply: cut at the first separator, keep what follows the last
   * {@code Assistant:}, strip whitespace as Python's {@code str.strip()} does.
   */
  public String answer(String decoded) {
    int stop = decoded.indexOf(separator);
    String text = stop < 0 ? decoded : decoded.substring(0, stop);
    String marker = assistantRole + ":";
    int last = text.lastIndexOf(marker);
    if (last >= 0) {
      text = text.substring(last + marker.length());
    }
    return pythonStrip(text);
  }

  static String pythonStrip(String s) {
    int begin = 0;
    int end = s.length();
    while (begin < end && isPythonSpace(s.charAt(begin))) {
      begin++;
    }
    while (end > begin && isPythonSpace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(begin, end);
  }

  /** Python's {@code str.isspace()}: Java's whitespace plus the no-break spaces and NEL, which Java leaves out. */
  private static boolean isPythonSpace(char c) {
    return Character.isWhitespace(c) || c == '\u0085' || c == '\u00a0' || c == '\u2007' || c == '\u202f';
  }
}

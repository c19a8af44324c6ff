package io.mmstream.model.chatglm;

import java.util.regex.Pattern;

/**
 * ChatGLM's {@code process_response}: the decoded reply trimmed, the training-date placeholder filled in, and ASCII
 * punctuation next to a CJK character made full-width, in the original's order.
 */
public final class ChatGlmResponse {
  /** The placeholder the training data used for the date and what the original puts there. */
  private static final String TRAINING_TIME = "[[训练时间]]";
  private static final String TRAINING_TIME_VALUE = "2023年";
  private static final String[][] PUNCTUATION = {{",", "，"}, {"!", "！"}, {":", "："}, {";", "；"}, {"?", "？"}};
  private static final String CJK = "([\\u4e00-\\u9fff])";

  private ChatGlmResponse() {}

  public static String clean(String decoded) {
    String response = decoded.strip().replace(TRAINING_TIME, TRAINING_TIME_VALUE);
    for (String[] pair : PUNCTUATION) {
      String ascii = Pattern.quote(pair[0]);
      response = response.replaceAll(CJK + ascii, "$1" + pair[1]);
      response = response.replaceAll(ascii + CJK, pair[1] + "$1");
    }
    return response;
  }
}

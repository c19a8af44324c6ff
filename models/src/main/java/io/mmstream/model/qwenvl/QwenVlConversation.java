package io.mmstream.model.qwenvl;

import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.qwen.QwenTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a request's images enter Qwen-VL's text. Prompts name pictures as the original does
 * ({@code Picture 1: <img>PATH</img>\n...}); request images the conversation does not name already are written in front
 * of the first user turn as the tokenizer's {@code from_list_format} writes them, so that a chat whose history holds
 * plain text reads as the original's session did (the image in the first query).
 *
 * @param history the turns, the first one with the added pictures when there is history
 * @param query the new user text, with the added pictures when there is no history
 * @param supplied the request's images by the name written for them (the rest are read from their paths)
 */
public record QwenVlConversation(List<ChatTurn> history, String query, Map<String, PixelImage> supplied) {
  private static final Pattern NAMED = Pattern.compile(
      Pattern.quote(QwenTokenizer.IMAGE_START) + "(.*?)" + Pattern.quote(QwenTokenizer.IMAGE_END), Pattern.DOTALL);

  /** The name written for the i-th (0-based) request image that came without one. */
  static String unnamed(int index) {
    return "image-" + (index + 1);
  }

  /** {@code tokenizer.from_list_format}: {@code "Picture n: <img>name</img>\n"} per image, then the text. */
  public static String fromListFormat(List<String> imageNames, String text) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < imageNames.size(); i++) {
      out.append("Picture ").append(i + 1).append(": ").append(QwenTokenizer.IMAGE_START).append(imageNames.get(i))
          .append(QwenTokenizer.IMAGE_END).append('\n');
    }
    return out.append(text).toString();
  }

  /** The paths inside {@code <img>...</img>} of a text, in order. */
  public static List<String> namedImages(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = NAMED.matcher(text);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  public static QwenVlConversation of(GenerationRequest request) {
    List<String> named = new ArrayList<>(namedImages(request.prompt()));
    for (ChatTurn turn : request.history()) {
      named.addAll(namedImages(turn.user()));
      named.addAll(namedImages(turn.assistant()));
    }
    Map<String, PixelImage> supplied = new HashMap<>();
    List<String> added = new ArrayList<>();
    for (int i = 0; i < request.images().size(); i++) {
      String name = request.imageNames().isEmpty() ? unnamed(i) : request.imageNames().get(i);
      String existing = named.stream().filter(n -> sameFile(n, name)).findFirst().orElse(null);
      supplied.put(existing == null ? name : existing, request.images().get(i));
      if (existing == null) {
        added.add(name);
      }
    }
    if (added.isEmpty()) {
      return new QwenVlConversation(request.history(), request.prompt(), supplied);
    }
    if (request.history().isEmpty()) {
      return new QwenVlConversation(List.of(), fromListFormat(added, request.prompt()), supplied);
    }
    List<ChatTurn> history = new ArrayList<>(request.history());
    ChatTurn first = history.get(0);
    history.set(0, new ChatTurn(fromListFormat(added, first.user()), first.assistant()));
    return new QwenVlConversation(history, request.prompt(), supplied);
  }

  private static boolean sameFile(String a, String b) {
    try {
      return Path.of(a).toAbsolutePath().normalize().equals(Path.of(b).toAbsolutePath().normalize());
    } catch (java.nio.file.InvalidPathException e) {
      return a.equals(b);
    }
  }
}

package io.mmstream.model.generation;

import java.util.Objects;

/** One earlier exchange of a conversation: {@code [user, assistant]} in the original chat APIs' {@code history}. */
public record ChatTurn(String user, String assistant) {
  public ChatTurn {
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(assistant, "assistant");
  }
}

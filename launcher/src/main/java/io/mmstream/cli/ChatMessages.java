package io.mmstream.cli;

import io.mmstream.schema.ChatMessage;
import java.io.IOException;
import java.time.Instant;
import java.util.UUID;

/** Builds the ChatMessages that {@code publish --chat}, {@code chat --conversation} and the demo send. */
public final class ChatMessages {
  private ChatMessages() {}

  /**
   * A message of {@code conversation} with a fresh message id; {@code image} (a file or an http(s)/file URL, see
   * {@link ImageEvents#imageSource}) is needed on a conversation's first message and switches the image later.
   */
  public static ChatMessage message(String tenant, String conversation, String text, String image) throws IOException {
    ImageEvents.ImageSource source = image == null ? null : ImageEvents.imageSource(image);
    return message(tenant, conversation, text, source);
  }

  /** A message with {@code image} already read (null: none). */
  public static ChatMessage message(String tenant, String conversation, String text, ImageEvents.ImageSource image) {
    return ChatMessage.newBuilder()
        .setTenant(tenant)
        .setConversationId(conversation)
        .setMessageId(UUID.randomUUID().toString())
        .setText(text)
        .setImage(image == null ? null : image.source())
        .setContentType(image == null ? null : image.contentType())
        .setMessageTime(Instant.now())
        .build();
  }

  /** The key mm.chat.v1 records need: tenant/conversationId, so a conversation's messages share a partition. */
  public static String key(ChatMessage message) {
    return message.getTenant() + "/" + message.getConversationId();
  }
}

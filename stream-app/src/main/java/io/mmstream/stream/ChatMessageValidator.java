package io.mmstream.stream;

import io.mmstream.config.Settings;
import io.mmstream.image.ImageRejectedException;
import io.mmstream.schema.ChatMessage;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * Checks one ChatMessage before it joins its conversation: ids, tenant, text and model name limits, and the image
 * (when it carries one) through the same source checks and address guard as image events.
 */
final class ChatMessageValidator {

  static final String EMPTY_MESSAGE = "EMPTY_MESSAGE";
  static final String MESSAGE_TOO_LONG = "MESSAGE_TOO_LONG";

  /** The outcome: valid with the image's content hash (null without an image), or invalid with a reason. */
  sealed interface Outcome {}

  record Valid(String contentHash) implements Outcome {}

  record Invalid(String reasonCode, String message) implements Outcome {}

  private final TenantValidator tenants;
  private final ImageSourceValidator sources;
  private final int maxIdChars;
  private final int maxMessageChars;

  ChatMessageValidator(Settings settings) {
    this.tenants = new TenantValidator(settings);
    this.sources = new ImageSourceValidator(settings);
    this.maxIdChars = settings.get(StreamSettings.MAX_ID_CHARS);
    this.maxMessageChars = settings.get(ConversationSettings.MAX_MESSAGE_CHARS);
  }

  Outcome validate(ChatMessage message) {
    Invalid badId = firstNonNull(checkId("conversationId", message.getConversationId(), true),
        checkId("messageId", message.getMessageId(), true), checkId("model", message.getModel(), false));
    if (badId != null) {
      return badId;
    }
    Optional<Validation.Invalid> tenant = tenants.check(message.getTenant());
    if (tenant.isPresent()) {
      return new Invalid(tenant.get().reasonCode(), tenant.get().message());
    }
    String text = nullToEmpty(message.getText());
    if (text.isBlank()) {
      return new Invalid(EMPTY_MESSAGE, "message text is empty");
    }
    if (text.length() > maxMessageChars) {
      return new Invalid(MESSAGE_TOO_LONG, "message text has " + text.length()
          + " chars, over mmstream.chat.max-message-chars=" + maxMessageChars);
    }
    if (message.getImage() == null) {
      return new Valid(null);
    }
    try {
      return new Valid(sources.check(message.getImage(), message.getContentType()));
    } catch (ImageRejectedException e) {
      return new Invalid(e.reasonCode(), e.getMessage());
    }
  }

  /** Why an id is refused (empty when required, or longer than mmstream.validate.max-id-chars), or null. */
  private Invalid checkId(String name, String value, boolean required) {
    String id = nullToEmpty(value);
    if (required && id.isBlank()) {
      return new Invalid(ImageEventValidator.MISSING_ID, name + " is empty");
    }
    if (id.length() > maxIdChars) {
      return new Invalid(ImageEventValidator.ID_TOO_LONG, name + " has " + id.length()
          + " chars, over mmstream.validate.max-id-chars=" + maxIdChars);
    }
    return null;
  }

  private static Invalid firstNonNull(Invalid... checks) {
    return Arrays.stream(checks).filter(Objects::nonNull).findFirst().orElse(null);
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}

package io.mmstream.serde;

import org.apache.kafka.common.errors.SerializationException;

/**
 * Bytes that are not a decodable mmstream record. {@link #reasonCode()} is what a dead-letter entry
 * records: {@code UNKNOWN_SCHEMA} (a fingerprint no store knows), {@code BAD_HEADER} (not Avro
 * single-object encoding: garbage, or another format), {@code MALFORMED} (header fine, body not).
 */
public class MessageDecodeException extends SerializationException {

  public static final String UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA";
  public static final String BAD_HEADER = "BAD_HEADER";
  public static final String MALFORMED = "MALFORMED";

  private final String reasonCode;

  public MessageDecodeException(String reasonCode, String message, Throwable cause) {
    super(message, cause);
    this.reasonCode = reasonCode;
  }

  public String reasonCode() {
    return reasonCode;
  }
}

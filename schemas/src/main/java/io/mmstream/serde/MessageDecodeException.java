package io.mmstream.serde;

import java.util.List;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Bytes that are not a decodable mmstream record. {@link #reasonCode()} is what a dead-letter entry
 * records: {@code UNKNOWN_SCHEMA} (a fingerprint no store knows, or a registry schema id the registry
 * does not know), {@code BAD_HEADER} (neither Avro single-object encoding nor the registry wire format:
 * garbage, or another format), {@code MALFORMED} (header fine, body not). {@link #header()} is the header
 * as seen (hex), {@link #knownFingerprints()} the fingerprints this reader knows for the expected record
 * (filled for an unknown fingerprint).
 */
public class MessageDecodeException extends SerializationException {

  public static final String UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA";
  public static final String BAD_HEADER = "BAD_HEADER";
  public static final String MALFORMED = "MALFORMED";

  private final String reasonCode;
  private final String header;
  private final List<String> knownFingerprints;

  public MessageDecodeException(String reasonCode, String message, Throwable cause) {
    this(reasonCode, message, cause, null, List.of());
  }

  public MessageDecodeException(String reasonCode, String message, Throwable cause, String header,
      List<String> knownFingerprints) {
    super(message, cause);
    this.reasonCode = reasonCode;
    this.header = header;
    this.knownFingerprints = List.copyOf(knownFingerprints);
  }

  public String reasonCode() {
    return reasonCode;
  }

  /** The header bytes seen, as hex (up to the length of the header the first byte announces); null: no bytes. */
  public String header() {
    return header;
  }

  /** Fingerprints (16 hex digits) the reader knows for the record type it expected; empty unless UNKNOWN_SCHEMA. */
  public List<String> knownFingerprints() {
    return knownFingerprints;
  }
}

package io.mmstream.config;

/** The Kafka cluster could not be reached or refused the app's credentials; the message says which and where. */
public final class KafkaConnectionException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public KafkaConnectionException(String message, Throwable cause) {
    super(message, cause);
  }
}

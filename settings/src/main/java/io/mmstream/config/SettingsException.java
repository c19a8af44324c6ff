package io.mmstream.config;

/** A setting that is missing, unreadable or has a value of the wrong form; the message names the key. */
public class SettingsException extends RuntimeException {
  public SettingsException(String message, Throwable cause) {
    super(message, cause);
  }

  public SettingsException(String message) {
    super(message);
  }
}

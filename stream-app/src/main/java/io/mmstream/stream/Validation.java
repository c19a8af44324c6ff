package io.mmstream.stream;

import io.mmstream.schema.ImageEvent;

/** The outcome of validating one ImageEvent. */
public sealed interface Validation {

  /** Valid: the event with its tag task resolved to labels, and the content hash it is keyed by. */
  record Valid(ImageEvent event, String contentHash) implements Validation {}

  /** Invalid: a reason code and a message for the dead-letter entry. */
  record Invalid(String reasonCode, String message) implements Validation {}
}

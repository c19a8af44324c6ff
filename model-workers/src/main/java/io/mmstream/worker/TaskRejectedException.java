package io.mmstream.worker;

/**
 * A task that cannot be run, with the pipeline stage that found out and a stable reason code (these
 * end up in the dead-letter record and the DLQ metric).
 */
public final class TaskRejectedException extends Exception {
  private final String stage;
  private final String reasonCode;

  public TaskRejectedException(String stage, String reasonCode, String message) {
    super(message);
    this.stage = stage;
    this.reasonCode = reasonCode;
  }

  public TaskRejectedException(String stage, String reasonCode, String message, Throwable cause) {
    super(message, cause);
    this.stage = stage;
    this.reasonCode = reasonCode;
  }

  /** fetch | decode | preprocess | model | deadline | deserialize (the DeadLetter stage names). */
  public String stage() {
    return stage;
  }

  public String reasonCode() {
    return reasonCode;
  }
}

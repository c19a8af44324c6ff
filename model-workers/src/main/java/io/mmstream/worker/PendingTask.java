package io.mmstream.worker;

import org.apache.kafka.common.TopicPartition;

/**
 * One consumed task record on its way through the worker. Created and committed by the poll thread;
 * the CPU pool and the executor fill in the prepared input and the outcome. The outcome is published
 * through a volatile write, which is all the poll thread needs to read the other fields safely.
 */
final class PendingTask<Q, P, O> {

  /** How a task ended: outputs, or a failure with the stage and reason. */
  record Outcome<O>(
      O outputs,
      String failureStage,
      String reasonCode,
      String message,
      int batchSize,
      long queueNanos,
      long computeNanos,
      long completedNanos) {

    boolean failed() {
      return reasonCode != null;
    }
  }

  final TopicPartition partition;
  final long offset;
  final long recordTimestampMs;
  /** The task record's key, which its result must carry too. */
  final byte[] key;
  final byte[] value;
  final long admittedNanos;
  /** Decoded task; null when the record could not be decoded. */
  Q request;
  /** Set with {@link #request}: the ids logs and dead letters use, and when the task expires. */
  String taskId;
  long deadlineMs;
  P prepared;
  long preprocessNanos;
  /** From the record's timestamp to its admission (millisecond clock). */
  long fetchNanos;
  /** When the CPU pool started on it: the time before that was spent in the pool's queue. */
  long preprocessStartNanos;
  /** Its batcher wait, split into waiting for a busy device and waiting for the batch to fill. */
  long deviceBusyNanos;
  long batchFillNanos;
  private volatile boolean cancelled;
  private volatile Outcome<O> outcome;

  PendingTask(TopicPartition partition, long offset, long recordTimestampMs, byte[] key, byte[] value) {
    this.partition = partition;
    this.offset = offset;
    this.recordTimestampMs = recordTimestampMs;
    this.key = key;
    this.value = value;
    this.admittedNanos = System.nanoTime();
  }

  boolean isDone() {
    return outcome != null;
  }

  Outcome<O> outcome() {
    return outcome;
  }

  /** Its partition was revoked or lost: whoever still holds it skips it; its outcome is never committed. */
  void cancel() {
    cancelled = true;
  }

  boolean isCancelled() {
    return cancelled;
  }

  boolean deadlinePassed(long nowMs) {
    return deadlineMs < nowMs;
  }

  void succeed(O outputs, int batchSize, long queueNanos, long computeNanos) {
    outcome = new Outcome<>(outputs, null, null, null, batchSize, queueNanos, computeNanos, System.nanoTime());
  }

  void fail(String stage, String reasonCode, String message, long queueNanos) {
    outcome = new Outcome<>(null, stage, reasonCode, message, 0, queueNanos, 0, System.nanoTime());
  }
}

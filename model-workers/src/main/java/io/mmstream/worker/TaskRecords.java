package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskFailure;
import io.mmstream.schema.Timings;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.MessageDecodeException;
import java.time.Instant;

/**
 * How one kind's tasks and answers look on the wire, the only part of {@link TaskWorker} that differs
 * between the image-task kinds (TaskRequest → TaskResult on mm.results.v1) and chat (ChatTask →
 * ChatReply on mm.chat.results.v1).
 *
 * @param <Q> the task record
 * @param <O> a model's output for one task
 */
interface TaskRecords<Q, O> {

  /** What the worker adds to a model's output in every answer. */
  record AnswerContext(ModelInfo model, Timings timings, String workerId, int batchSize, Instant producedAt) {}

  /** The record name, for "not a ..." dead letters. */
  String recordName();

  Q decode(byte[] value) throws MessageDecodeException;

  /** Why this task does not belong on this worker's topic, or null when it does. */
  String misrouted(Q task);

  long deadlineMs(Q task);

  /** The ids dead letters and logs carry. */
  String taskId(Q task);

  String eventId(Q task);

  String tenant(Q task);

  /** The task's decoded image, or null when it carries none. */
  PixelImage loadImage(Q task, ImageLoader loader) throws TaskRejectedException;

  String resultTopic();

  /** The encoded answer: {@code outputs} on success, else {@code failure} (and {@code outputs} null). */
  byte[] encodeAnswer(Q task, O outputs, TaskFailure failure, AnswerContext context);

  /** The records of {@code kind}'s tasks; the model's types must match (one factory per kind). */
  @SuppressWarnings("unchecked")
  static <Q, O> TaskRecords<Q, O> forKind(ModelKind kind, AvroSerdes serdes) {
    return (TaskRecords<Q, O>) (kind == ModelKind.CHAT ? new ChatTaskRecords(serdes) : new ImageTaskRecords(kind, serdes));
  }
}

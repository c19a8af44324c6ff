package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.TaskFailure;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;

/** The image-task kinds' records: a TaskRequest of the kind's task type in, a TaskResult out. */
final class ImageTaskRecords implements TaskRecords<TaskRequest, TaskOutputs> {
  private final ModelKind kind;
  private final AvroSerde<TaskRequest> requests;
  private final AvroSerde<TaskResult> results;

  ImageTaskRecords(ModelKind kind, AvroSerdes serdes) {
    this.kind = kind;
    this.requests = serdes.taskRequest();
    this.results = serdes.taskResult();
  }

  @Override
  public String recordName() {
    return "TaskRequest";
  }

  @Override
  public TaskRequest decode(byte[] value) throws MessageDecodeException {
    return requests.decode(value);
  }

  @Override
  public String misrouted(TaskRequest task) {
    return task.getTask() == kind.taskType() ? null : task.getTask() + " task on the " + kind.taskTopic() + " topic";
  }

  @Override
  public long deadlineMs(TaskRequest task) {
    return task.getDeadline().toEpochMilli();
  }

  @Override
  public String taskId(TaskRequest task) {
    return task.getTaskId();
  }

  @Override
  public String eventId(TaskRequest task) {
    return task.getEventId();
  }

  @Override
  public String tenant(TaskRequest task) {
    return task.getTenant();
  }

  @Override
  public PixelImage loadImage(TaskRequest task, ImageLoader loader) throws TaskRejectedException {
    return loader.load(task);
  }

  @Override
  public String resultTopic() {
    return Topics.RESULTS;
  }

  @Override
  public byte[] encodeAnswer(TaskRequest request, TaskOutputs outputs, TaskFailure failure, AnswerContext context) {
    return results.encode(TaskResult.newBuilder()
        .setTaskId(request.getTaskId())
        .setEventId(request.getEventId())
        .setImageId(request.getImageId())
        .setTenant(request.getTenant())
        .setTask(request.getTask())
        .setModel(context.model())
        .setOutputs(outputs == null ? TaskOutputs.newBuilder().build() : outputs)
        .setFailure(failure)
        .setTimings(context.timings())
        .setWorkerId(context.workerId())
        .setBatchSize(context.batchSize())
        .setProducedAt(context.producedAt())
        .build());
  }
}

package io.mmstream.worker;

import io.mmstream.schema.TaskType;
import io.mmstream.topic.Topics;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The model a worker serves, the task type it answers and the topics it consumes and writes. */
public enum ModelKind {
  CLIP(TaskType.TAG),
  CAPTION(TaskType.CAPTION),
  VQA(TaskType.VQA),
  /** InstructBLIP: answers the same VQA tasks as {@link #VQA}, from the same topic, with a larger model. */
  INSTRUCT(TaskType.VQA),
  /** Visual chat: ChatTask records in, ChatReply records out, any model {@code VisionLanguageModels} opens. */
  CHAT(null);

  private final TaskType taskType;

  ModelKind(TaskType taskType) {
    this.taskType = taskType;
  }

  /** The TaskRequest type this kind answers; null for {@link #CHAT}, whose tasks are ChatTask records. */
  public TaskType taskType() {
    return taskType;
  }

  /** The topic this kind's workers consume. */
  public String taskTopic() {
    return this == CHAT ? Topics.TASKS_CHAT : Topics.taskTopic(taskType);
  }

  /** The topic this kind's workers write their answers to. */
  public String resultTopic() {
    return this == CHAT ? Topics.CHAT_RESULTS : Topics.RESULTS;
  }

  /** The lower-case name used in settings, metric tags and the CLI. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static ModelKind parse(String text) {
    for (ModelKind kind : values()) {
      if (kind.id().equalsIgnoreCase(text.trim())) {
        return kind;
      }
    }
    throw new IllegalArgumentException("unknown model kind '" + text + "' (expected "
        + Arrays.stream(values()).map(ModelKind::id).collect(Collectors.joining(", ")) + ")");
  }
}

package io.mmstream.worker;

import io.mmstream.schema.TaskType;
import io.mmstream.topic.Topics;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The model a worker serves, the task type it answers and the topic it consumes. */
public enum ModelKind {
  CLIP(TaskType.TAG),
  CAPTION(TaskType.CAPTION),
  VQA(TaskType.VQA),
  /** InstructBLIP: answers the same VQA tasks as {@link #VQA}, from the same topic, with a larger model. */
  INSTRUCT(TaskType.VQA);

  private final TaskType taskType;

  ModelKind(TaskType taskType) {
    this.taskType = taskType;
  }

  public TaskType taskType() {
    return taskType;
  }

  /** The topic this kind's workers consume. */
  public String taskTopic() {
    return Topics.taskTopic(taskType);
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

package io.mmstream.worker;

import io.mmstream.schema.TaskType;
import java.util.Locale;

/** The model a worker serves, the task type it answers and the topic it consumes. */
public enum ModelKind {
  CLIP(TaskType.TAG),
  CAPTION(TaskType.CAPTION),
  VQA(TaskType.VQA);

  private final TaskType taskType;

  ModelKind(TaskType taskType) {
    this.taskType = taskType;
  }

  public TaskType taskType() {
    return taskType;
  }

  /** The lower-case name used in settings, topic names, metric tags and the CLI. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static ModelKind parse(String text) {
    for (ModelKind kind : values()) {
      if (kind.id().equalsIgnoreCase(text.trim())) {
        return kind;
      }
    }
    throw new IllegalArgumentException("unknown model kind '" + text + "' (expected clip, caption or vqa)");
  }
}

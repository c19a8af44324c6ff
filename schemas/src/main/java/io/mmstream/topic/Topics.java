package io.mmstream.topic;

import io.mmstream.schema.TaskType;
import java.util.List;

/**
 * Every topic name, in one place. Names carry the wire-format version: an incompatible change gets
 * new topics ({@code .v2}) that run beside the old ones.
 */
public final class Topics {
  private Topics() {}

  /** ImageEvent, published by producers; any key. */
  public static final String IMAGES = "mm.images.v1";
  /** AcceptedImage: validated events keyed tenant/contentHash (the join's partitioning). */
  public static final String IMAGES_ACCEPTED = "mm.images.accepted.v1";
  /** TaskRequest for the tagger, keyed tenant/contentHash. */
  public static final String TASKS_TAG = "mm.tasks.tag.v1";
  public static final String TASKS_CAPTION = "mm.tasks.caption.v1";
  public static final String TASKS_VQA = "mm.tasks.vqa.v1";
  /** TaskResult from every worker, keyed like the TaskRequest it answers. */
  public static final String RESULTS = "mm.results.v1";
  /** EnrichedImage keyed by eventId. */
  public static final String ENRICHED = "mm.enriched.v1";
  /** ModerationDecision keyed by eventId. */
  public static final String MODERATION = "mm.moderation.v1";
  /** ChatTask for the chat workers, keyed tenant/conversationId. */
  public static final String TASKS_CHAT = "mm.tasks.chat.v1";
  /** ChatMessage, published by producers, keyed tenant/conversationId. */
  public static final String CHAT = "mm.chat.v1";
  /** ChatReply from the chat workers, keyed like the ChatTask it answers; joined by the stream app. */
  public static final String CHAT_RESULTS = "mm.chat.results.v1";
  /** ChatReply joined to its conversation, exactly once per message, in each conversation's order. */
  public static final String CHAT_REPLIES = "mm.chat.replies.v1";
  /** DeadLetter keyed by eventId where known. */
  public static final String DLQ = "mm.dlq.v1";

  public static final List<String> ALL =
      List.of(
          IMAGES, IMAGES_ACCEPTED, TASKS_TAG, TASKS_CAPTION, TASKS_VQA, RESULTS, ENRICHED, MODERATION, DLQ, TASKS_CHAT,
          CHAT_REPLIES, CHAT, CHAT_RESULTS);

  /** Task types that have a worker topic. */
  public static final List<TaskType> ROUTED_TASKS = List.of(TaskType.TAG, TaskType.CAPTION, TaskType.VQA);

  public static String taskTopic(TaskType task) {
    return switch (task) {
      case TAG -> TASKS_TAG;
      case CAPTION -> TASKS_CAPTION;
      case VQA -> TASKS_VQA;
      case UNKNOWN -> throw new IllegalArgumentException("task UNKNOWN has no topic");
    };
  }
}

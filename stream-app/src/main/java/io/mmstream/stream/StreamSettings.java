package io.mmstream.stream;

import io.mmstream.config.Setting;
import java.util.List;

/** Settings of the enrichment stream application. */
public final class StreamSettings {
  private StreamSettings() {}

  public static final Setting<String> APPLICATION_ID = Setting.string("mmstream.stream.application-id",
      "mmstream-enrichment", "Kafka Streams application.id (consumer group, internal topic prefix)");
  public static final Setting<String> STATE_DIR = Setting.string("mmstream.stream.state-dir",
      "/tmp/mmstream-streams", "Kafka Streams state directory (RocksDB stores; restored from changelogs)");
  public static final Setting<Integer> THREADS = Setting.integer("mmstream.stream.threads", 1,
      "Kafka Streams stream threads");
  public static final Setting<Long> CLOSE_TIMEOUT_MS = Setting.longValue("mmstream.stream.close-timeout-ms", 30_000,
      "Longest graceful shutdown (finish in-flight work, commit, leave the group)");
  public static final Setting<Integer> HTTP_PORT = Setting.integer("mmstream.stream.http-port", 8081,
      "Port of /metrics, /health/live and /health/ready (-1: no HTTP server)");
  public static final Setting<Long> JOIN_DEADLINE_MS = Setting.longValue("mmstream.join.deadline-ms", 30_000,
      "Time a task has to answer; a task without a result by then is re-routed once (mmstream.join.retry-on-deadline)"
          + " and given this long again, then the enrichment is emitted as partial, naming the missing tasks");
  public static final Setting<Boolean> JOIN_RETRY_ON_DEADLINE = Setting.bool("mmstream.join.retry-on-deadline", true,
      "Re-route a task that reaches its deadline without a result once, to another partition of its task topic,"
          + " before giving up on it (covers a worker that crashed with the task in flight)");
  public static final Setting<Long> JOIN_CHECK_INTERVAL_MS = Setting.longValue("mmstream.join.check-interval-ms",
      1_000, "How often (wall clock) deadlines are checked");
  public static final Setting<Boolean> REPOST_ENABLED = Setting.bool("mmstream.repost.enabled", true,
      "Reuse the results of the same image bytes (per tenant) instead of running the models again");
  public static final Setting<Long> REPOST_RETENTION_MS = Setting.longValue("mmstream.repost.retention-ms",
      24L * 3600_000, "How long results stay reusable for reposts");
  public static final Setting<String> LABEL_SETS_PATH = Setting.string("mmstream.label-sets.path", "",
      "JSON file of label sets per tenant; empty: none (only inline labels)");
  public static final Setting<String> MODERATION_POLICY_PATH = Setting.string("mmstream.moderation.policy-path", "",
      "JSON file of moderation policies per tenant; empty: no categories (every image ALLOW)");
  public static final Setting<String> TENANT_PATTERN = Setting.string("mmstream.tenants.pattern",
      "[a-z0-9][a-z0-9_-]{0,62}", "Regular expression every tenant id must match");
  public static final Setting<List<String>> TENANTS_ALLOWED = Setting.list("mmstream.tenants.allowed", List.of(),
      "Known tenants; empty: any tenant matching the pattern");
  public static final Setting<Integer> MAX_ID_CHARS = Setting.integer("mmstream.validate.max-id-chars", 256,
      "Longest eventId / imageId");
  public static final Setting<Integer> MAX_QUESTIONS = Setting.integer("mmstream.validate.max-questions", 8,
      "Most VQA questions per image");
  public static final Setting<Integer> MAX_QUESTION_CHARS = Setting.integer("mmstream.validate.max-question-chars",
      512, "Longest VQA question, caption prompt or candidate answer");
  public static final Setting<Integer> MAX_LABELS = Setting.integer("mmstream.validate.max-labels", 1_000,
      "Most inline labels per tag task");
  public static final Setting<Integer> MAX_LABEL_CHARS = Setting.integer("mmstream.validate.max-label-chars", 200,
      "Longest label");
  public static final Setting<Integer> MAX_METADATA_ENTRIES = Setting.integer("mmstream.validate.max-metadata-entries",
      64, "Most metadata entries per event");
  public static final Setting<Integer> MAX_METADATA_BYTES = Setting.integer("mmstream.validate.max-metadata-bytes",
      16_384, "Largest total size of metadata keys and values (UTF-8)");
  public static final Setting<Integer> MAX_METADATA_KEY_CHARS = Setting.integer(
      "mmstream.validate.max-metadata-key-chars", 128, "Longest metadata key");
  public static final Setting<Integer> MAX_METADATA_VALUE_CHARS = Setting.integer(
      "mmstream.validate.max-metadata-value-chars", 4_096, "Longest metadata value (e.g. a JSON document in a string)");
  public static final Setting<Integer> MAX_TEMPLATES = Setting.integer("mmstream.validate.max-templates", 32,
      "Most prompt templates per tag task");
  public static final Setting<Integer> MAX_EVENT_BYTES = Setting.integer("mmstream.validate.max-event-bytes",
      9 * 1024 * 1024, "Largest ImageEvent record; larger ones are dead-lettered without decoding (keep it under"
          + " mmstream.topics.max-message-bytes: task requests carry the event)");
  public static final Setting<Integer> DLQ_ORIGINAL_MAX_BYTES = Setting.integer(
      "mmstream.stream.dlq-original-max-bytes", 262_144,
      "Largest original record copied into a DeadLetter (larger ones: topic, partition and offset only)");
}

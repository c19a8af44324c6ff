package io.mmstream.worker;

import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Setting;
import io.mmstream.config.Settings;
import io.mmstream.config.SettingsException;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.ImageSettings;
import io.mmstream.security.AppAccess;
import io.mmstream.security.AppAcls;
import io.mmstream.serde.SchemaSettings;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Everything a worker process is configured with: the {@link Setting} declarations (read through
 * {@link Settings}: properties file, MMSTREAM_* environment, {@code *_FILE} secrets) and the typed
 * values one worker runs with. Kafka connection and security come from {@link KafkaSettings}, image
 * limits from {@link ImageSettings}, both shared with the stream application.
 */
public record WorkerSettings(
    Settings source,
    ModelKind kind,
    ModelSource modelSource,
    String workerId,
    String groupId,
    String transactionalIdPrefix,
    Duration transactionTimeout,
    Duration sessionTimeout,
    Duration commitInterval,
    Duration pollTimeout,
    int maxPollRecords,
    int batchMaxSize,
    Duration batchMaxDelay,
    List<Integer> preferredBatchSizes,
    int maxInFlight,
    int resumeThreshold,
    int decodeThreads,
    DeadlinePolicy deadlinePolicy,
    boolean deadLetterTaskFailures,
    DeviceChoice device,
    boolean fp16,
    int httpPort,
    Duration progressInterval,
    Duration shutdownTimeout,
    int deadLetterOriginalMaxBytes) {

  /** What happens to a task whose deadline passed before it ran. */
  public enum DeadlinePolicy {
    /** A failed TaskResult and a DeadLetter (reason DEADLINE_EXCEEDED). */
    DLQ,
    /** A failed TaskResult only, so the join still learns why the result is missing. */
    DROP
  }

  public enum DeviceChoice {
    CPU,
    GPU,
    AUTO
  }

  public static final Setting<String> KIND = Setting.string("mmstream.worker.kind", null,
      "clip | caption | vqa | instruct | chat (required): which model, and which task topic it consumes");
  public static final Setting<String> MODEL_DIR = Setting.string("mmstream.worker.model-dir", "",
      "Model checkpoint directory (this or mmstream.worker.model-preset)");
  public static final Setting<String> MODEL_PRESET = Setting.string("mmstream.worker.model-preset", "",
      "Named preset with random weights, for benchmarks (needs mmstream.worker.tokenizer-dir)");
  public static final Setting<String> TOKENIZER_DIR = Setting.string("mmstream.worker.tokenizer-dir", "",
      "Tokenizer files for a preset (e.g. fixtures/clip/tokenizer); a model directory has its own");
  public static final Setting<String> WORKER_ID = Setting.string("mmstream.worker.id", "",
      "Worker name in results, its consumer's group.instance.id (static membership) and its transactional id; empty:"
          + " <host>-<kind>, stable across restarts. Two workers of one kind on one host need their own ids");
  public static final Setting<String> GROUP_ID = Setting.string("mmstream.worker.group-id", "",
      "Consumer group; empty: mmstream-worker-<kind>");
  public static final Setting<String> TRANSACTIONAL_ID_PREFIX = Setting.string(
      "mmstream.worker.transactional-id-prefix", "", "transactional.id = prefix-workerId; empty: mmstream-worker-<kind>");
  public static final Setting<Long> TRANSACTION_TIMEOUT_MS = Setting.longValue("mmstream.worker.transaction-timeout-ms",
      30_000, "Transaction timeout: how long a crashed worker's open transaction can block read_committed readers");
  public static final Setting<Long> SESSION_TIMEOUT_MS = Setting.longValue("mmstream.worker.session-timeout-ms",
      10_000, "Consumer session timeout: how long a crashed worker that does not come back keeps its partitions before"
          + " they move (keep it well below the stream app's mmstream.join.deadline-ms); a restarted one takes them back at once");
  public static final Setting<Long> COMMIT_INTERVAL_MS = Setting.longValue("mmstream.worker.commit-interval-ms", 100,
      "Shortest time between two transactions; finished results and their offsets are committed as soon as a batch ends, at most once per interval");
  public static final Setting<Long> POLL_TIMEOUT_MS = Setting.longValue("mmstream.worker.poll-timeout-ms", 20,
      "Longest consumer poll; bounds how late a completion is noticed");
  public static final Setting<Integer> MAX_POLL_RECORDS = Setting.integer("mmstream.worker.max-poll-records", 100,
      "Records per poll; in-flight never exceeds max-in-flight + this");
  public static final Setting<Integer> BATCH_MAX_SIZE = Setting.integer("mmstream.worker.batch.max-size", 8,
      "Largest batch sent to the model");
  public static final Setting<Long> BATCH_MAX_DELAY_MS = Setting.longValue("mmstream.worker.batch.max-delay-ms", 20,
      "Longest an item waits for a batch to fill");
  public static final Setting<List<String>> BATCH_PREFERRED_SIZES = Setting.list(
      "mmstream.worker.batch.preferred-sizes", List.of(), "Comma-separated sizes a batch is cut to when the delay expires");
  public static final Setting<Integer> MAX_IN_FLIGHT = Setting.integer("mmstream.worker.max-in-flight", 256,
      "Admitted but uncommitted tasks at which partitions are paused");
  public static final Setting<Integer> RESUME_THRESHOLD = Setting.integer("mmstream.worker.resume-threshold", -1,
      "In-flight count at which paused partitions resume; -1: max-in-flight / 2");
  public static final Setting<Integer> DECODE_THREADS = Setting.integer("mmstream.worker.decode-threads", 0,
      "Threads that fetch, decode and preprocess; 0: the number of cores");
  public static final Setting<String> DEADLINE_POLICY = Setting.string("mmstream.worker.deadline-policy", "dlq",
      "dlq | drop: what a task past its deadline becomes when mmstream.worker.dead-letter-task-failures is on");
  public static final Setting<Boolean> DEAD_LETTER_TASK_FAILURES = Setting.bool(
      "mmstream.worker.dead-letter-task-failures", false,
      "Also dead-letter every failed task here, one per task; off: the failure travels in its TaskResult and the"
          + " stream app writes one dead letter per cause per event");
  public static final Setting<String> DEVICE = Setting.string("mmstream.worker.device", "cpu",
      "cpu | gpu | auto (every GPU DJL finds, one executor each)");
  public static final Setting<Boolean> FP16 = Setting.bool("mmstream.worker.fp16", false,
      "Run the model in float16 (GPU only)");
  public static final Setting<Integer> HTTP_PORT = Setting.integer("mmstream.http.port", 8080,
      "Port of /metrics and /health/*; 0: any free port, -1: off");
  public static final Setting<String> HTTP_BIND_ADDRESS = Setting.string("mmstream.http.bind-address", "",
      "Interface /metrics and /health/* listen on (e.g. 127.0.0.1); empty: all interfaces");
  public static final Setting<Long> PROGRESS_INTERVAL_MS = Setting.longValue("mmstream.worker.progress-interval-ms",
      10_000, "Period of the one-line progress log");
  public static final Setting<Long> SHUTDOWN_TIMEOUT_MS = Setting.longValue("mmstream.worker.shutdown-timeout-ms",
      30_000, "How long shutdown waits for in-flight tasks before dropping them uncommitted");
  public static final Setting<Integer> DLQ_ORIGINAL_MAX_BYTES = Setting.integer(
      "mmstream.worker.dlq-original-max-bytes", 262_144, "Largest original record copied into a DeadLetter");

  /** Every setting a worker reads, for the startup dump, the README table and the typo check. */
  public static final List<Setting<?>> ALL = Setting.declaredIn(KafkaSettings.class, SchemaSettings.class,
      ImageSettings.class, WorkerSettings.class, ModelSettings.class);

  public WorkerSettings {
    require(batchMaxSize >= 1, BATCH_MAX_SIZE.key() + " must be >= 1");
    require(maxInFlight >= batchMaxSize, MAX_IN_FLIGHT.key() + " must be >= " + BATCH_MAX_SIZE.key());
    require(resumeThreshold >= 0 && resumeThreshold < maxInFlight,
        RESUME_THRESHOLD.key() + " must be in [0, " + MAX_IN_FLIGHT.key() + ")");
    require(decodeThreads >= 1, DECODE_THREADS.key() + " must be >= 1");
    require(maxPollRecords >= 1, MAX_POLL_RECORDS.key() + " must be >= 1");
    for (int size : preferredBatchSizes) {
      require(size >= 1 && size <= batchMaxSize, "preferred batch sizes must be in [1, " + BATCH_MAX_SIZE.key() + "]");
    }
    preferredBatchSizes = List.copyOf(preferredBatchSizes);
  }

  public String transactionalId() {
    return transactionalIdPrefix + "-" + workerId;
  }

  /** The ACLs of a worker of {@code kind} with the default group id and transactional id prefix. */
  public static AppAccess defaultAccess(ModelKind kind) {
    return AppAcls.worker(kind.id(), kind.taskTopic(), kind.resultTopic(), defaultId(kind), defaultId(kind));
  }

  /** Default consumer group and transactional id prefix: {@code mmstream-worker-<kind>}. */
  private static String defaultId(ModelKind kind) {
    return "mmstream-worker-" + kind.id();
  }

  /** The ACLs this worker's principal needs: its task topic, group and transactional ids. */
  public AppAccess access() {
    return AppAcls.worker(kind.id(), kind.taskTopic(), kind.resultTopic(), groupId, transactionalIdPrefix);
  }

  public ImageLimits imageLimits() {
    return ImageLimits.from(source);
  }

  /**
   * The worker's settings from {@code source}. An unknown {@code mmstream.worker.*} key is an error:
   * a typo must not pass silently.
   */
  public static WorkerSettings from(Settings source) {
    rejectUnknownWorkerKeys(source);
    String kindText = source.get(KIND);
    if (kindText == null || kindText.isBlank()) {
      throw new SettingsException("missing setting " + KIND.key() + " (env " + KIND.envName() + ")");
    }
    ModelKind kind = ModelKind.parse(kindText);
    String dir = source.get(MODEL_DIR).trim();
    String preset = source.get(MODEL_PRESET).trim();
    if (dir.isEmpty() == preset.isEmpty()) {
      throw new SettingsException("set exactly one of " + MODEL_DIR.key() + " and " + MODEL_PRESET.key());
    }
    String tokenizerDir = source.get(TOKENIZER_DIR).trim();
    ModelSource model = dir.isEmpty()
        ? ModelSource.preset(preset, tokenizerDir.isEmpty() ? null : Path.of(tokenizerDir))
        : ModelSource.directory(Path.of(dir));
    int maxInFlight = source.get(MAX_IN_FLIGHT);
    int resumeThreshold = source.get(RESUME_THRESHOLD);
    int decodeThreads = source.get(DECODE_THREADS);
    List<Integer> preferred = new ArrayList<>();
    for (String size : source.get(BATCH_PREFERRED_SIZES)) {
      try {
        preferred.add(Integer.parseInt(size));
      } catch (NumberFormatException e) {
        throw new SettingsException(BATCH_PREFERRED_SIZES.key() + " must list numbers, got '" + size + "'", e);
      }
    }
    try {
      return new WorkerSettings(
          source,
          kind,
          model,
          orElse(source.get(WORKER_ID), defaultWorkerId(kind)),
          orElse(source.get(GROUP_ID), defaultId(kind)),
          orElse(source.get(TRANSACTIONAL_ID_PREFIX), defaultId(kind)),
          Duration.ofMillis(source.get(TRANSACTION_TIMEOUT_MS)),
          Duration.ofMillis(source.get(SESSION_TIMEOUT_MS)),
          Duration.ofMillis(source.get(COMMIT_INTERVAL_MS)),
          Duration.ofMillis(source.get(POLL_TIMEOUT_MS)),
          source.get(MAX_POLL_RECORDS),
          source.get(BATCH_MAX_SIZE),
          Duration.ofMillis(source.get(BATCH_MAX_DELAY_MS)),
          preferred,
          maxInFlight,
          resumeThreshold < 0 ? maxInFlight / 2 : resumeThreshold,
          decodeThreads <= 0 ? Runtime.getRuntime().availableProcessors() : decodeThreads,
          choice(DeadlinePolicy.class, DEADLINE_POLICY, source),
          source.get(DEAD_LETTER_TASK_FAILURES),
          choice(DeviceChoice.class, DEVICE, source),
          source.get(FP16),
          source.get(HTTP_PORT),
          Duration.ofMillis(source.get(PROGRESS_INTERVAL_MS)),
          Duration.ofMillis(source.get(SHUTDOWN_TIMEOUT_MS)),
          source.get(DLQ_ORIGINAL_MAX_BYTES));
    } catch (IllegalArgumentException e) {
      throw new SettingsException(e.getMessage(), e);
    }
  }

  /** The environment variable that carries {@code key}. */
  public static String environmentVariable(String key) {
    return Settings.envName(key);
  }

  private static void rejectUnknownWorkerKeys(Settings source) {
    Set<String> known = new HashSet<>();
    ALL.forEach(s -> known.add(s.envName()));
    for (String prefix : List.of("mmstream.worker.", "worker.")) {
      for (String key : source.withPrefix(prefix).keySet()) {
        if (!known.contains(Settings.envName(key))) {
          throw new SettingsException("unknown setting " + key + " (env " + Settings.envName(key) + ")");
        }
      }
    }
  }

  private static <E extends Enum<E>> E choice(Class<E> type, Setting<String> setting, Settings source) {
    String value = source.get(setting).trim();
    try {
      return Enum.valueOf(type, value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new SettingsException(setting.key() + ": '" + value + "' is not one of " + setting.doc().split(":")[0], e);
    }
  }

  private static String orElse(String value, String fallback) {
    return value == null || value.isBlank() ? fallback : value.trim();
  }

  private static String defaultWorkerId(ModelKind kind) {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "localhost";
    }
    // Stable across restarts on purpose: the id is the consumer's group.instance.id, so a restarted worker
    // takes its partitions back at once instead of after the session timeout.
    return host + "-" + kind.id();
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }

  /** One line for the start-up log. */
  public String describeBatching() {
    return "batch max " + batchMaxSize + ", max delay " + batchMaxDelay.toMillis() + " ms"
        + (preferredBatchSizes.isEmpty() ? "" : ", preferred " + preferredBatchSizes)
        + ", max in-flight " + maxInFlight + " (resume at " + resumeThreshold + "), decode threads " + decodeThreads
        + ", commits at most every " + commitInterval.toMillis() + " ms, failed tasks dead-lettered "
        + (deadLetterTaskFailures ? "here (deadline policy " + deadlinePolicy.name().toLowerCase(Locale.ROOT) + ")"
            : "by the stream app, one per cause");
  }
}

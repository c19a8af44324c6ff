package io.mmstream.worker;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Everything a worker process is configured with. Built from string keys; the same keys come from a
 * properties file, from environment variables ({@code worker.batch.max.size} is {@code
 * MMSTREAM_WORKER_BATCH_MAX_SIZE}) and from command-line overrides, later sources winning. Keys
 * starting with {@code kafka.} go to the Kafka clients with the prefix removed. Every key is listed
 * in {@link #KEYS} and in the README.
 */
public record WorkerSettings(
    ModelKind kind,
    ModelSource modelSource,
    String workerId,
    String groupId,
    String transactionalIdPrefix,
    Duration transactionTimeout,
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
    DeviceChoice device,
    boolean fp16,
    int httpPort,
    Duration progressInterval,
    Duration shutdownTimeout,
    long imageMaxBytes,
    long imageMaxPixels,
    int deadLetterOriginalMaxBytes,
    Map<String, String> kafka) {

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

  /** Every recognised key with its default ("" = none) and meaning, in README order. */
  public static final Map<String, String[]> KEYS = keys();

  private static Map<String, String[]> keys() {
    Map<String, String[]> k = new LinkedHashMap<>();
    k.put("kafka.bootstrap.servers", new String[] {"localhost:9092", "Kafka brokers; any other kafka.* key is passed to the clients"});
    k.put("worker.kind", new String[] {"", "clip | caption | vqa (required): which task topic and model"});
    k.put("worker.model.dir", new String[] {"", "model checkpoint directory (this or worker.model.preset)"});
    k.put("worker.model.preset", new String[] {"", "named preset with random weights, for benchmarks"});
    k.put("worker.id", new String[] {"<host>-<pid>", "worker name in results; a stable id lets a restarted worker fence its predecessor at once"});
    k.put("worker.group.id", new String[] {"mmstream-worker-<kind>", "consumer group"});
    k.put("worker.transactional.id.prefix", new String[] {"mmstream-worker-<kind>", "transactional.id = prefix-workerId"});
    k.put("worker.transaction.timeout.ms", new String[] {"30000", "transaction timeout: how long a crashed worker's open transaction can block read_committed readers"});
    k.put("worker.commit.interval.ms", new String[] {"100", "how often completed results and offsets are committed"});
    k.put("worker.poll.timeout.ms", new String[] {"20", "longest consumer poll; bounds how late a completion is noticed"});
    k.put("worker.max.poll.records", new String[] {"100", "records per poll; in-flight never exceeds max.in.flight + this"});
    k.put("worker.batch.max.size", new String[] {"8", "largest batch sent to the model"});
    k.put("worker.batch.max.delay.ms", new String[] {"20", "longest an item waits for a batch to fill"});
    k.put("worker.batch.preferred.sizes", new String[] {"", "comma-separated sizes a batch is cut to when the delay expires"});
    k.put("worker.max.in.flight", new String[] {"256", "admitted but uncommitted tasks at which partitions are paused"});
    k.put("worker.resume.threshold", new String[] {"<max.in.flight / 2>", "in-flight count at which paused partitions resume"});
    k.put("worker.decode.threads", new String[] {"<cores>", "threads that fetch, decode and preprocess"});
    k.put("worker.deadline.policy", new String[] {"dlq", "dlq | drop: what a task past its deadline becomes"});
    k.put("worker.device", new String[] {"cpu", "cpu | gpu | auto (every GPU DJL finds, one executor each)"});
    k.put("worker.fp16", new String[] {"false", "run the model in float16 (GPU only)"});
    k.put("worker.http.port", new String[] {"8080", "port of /metrics and /health/*; 0 = any free port, -1 = off"});
    k.put("worker.progress.interval.ms", new String[] {"10000", "period of the one-line progress log"});
    k.put("worker.shutdown.timeout.ms", new String[] {"30000", "how long shutdown waits for in-flight tasks before dropping them uncommitted"});
    k.put("worker.image.max.bytes", new String[] {"20971520", "largest encoded image accepted"});
    k.put("worker.image.max.pixels", new String[] {"40000000", "largest width x height decoded (pixel-bomb guard)"});
    k.put("worker.dlq.original.max.bytes", new String[] {"262144", "largest original record copied into a DeadLetter"});
    return java.util.Collections.unmodifiableMap(k);
  }

  public WorkerSettings {
    require(batchMaxSize >= 1, "worker.batch.max.size must be >= 1");
    require(maxInFlight >= batchMaxSize, "worker.max.in.flight must be >= worker.batch.max.size");
    require(resumeThreshold >= 0 && resumeThreshold < maxInFlight, "worker.resume.threshold must be in [0, max.in.flight)");
    require(decodeThreads >= 1, "worker.decode.threads must be >= 1");
    require(maxPollRecords >= 1, "worker.max.poll.records must be >= 1");
    for (int size : preferredBatchSizes) {
      require(size >= 1 && size <= batchMaxSize, "preferred batch sizes must be in [1, batch.max.size]");
    }
    preferredBatchSizes = List.copyOf(preferredBatchSizes);
    kafka = Map.copyOf(kafka);
  }

  public String transactionalId() {
    return transactionalIdPrefix + "-" + workerId;
  }

  /** Settings from a map of keys (unknown worker.* keys are an error: a typo must not pass silently). */
  public static WorkerSettings fromMap(Map<String, String> values) {
    for (String key : values.keySet()) {
      if (!key.startsWith("kafka.") && !KEYS.containsKey(key)) {
        throw new IllegalArgumentException("unknown setting " + key);
      }
    }
    Lookup v = new Lookup(values);
    ModelKind kind = ModelKind.parse(v.required("worker.kind"));
    String dir = v.get("worker.model.dir", "");
    String preset = v.get("worker.model.preset", "");
    if (dir.isEmpty() == preset.isEmpty()) {
      throw new IllegalArgumentException("set exactly one of worker.model.dir and worker.model.preset");
    }
    ModelSource source = dir.isEmpty() ? ModelSource.preset(preset) : ModelSource.directory(Path.of(dir));
    int maxInFlight = v.integer("worker.max.in.flight", 256);
    Map<String, String> kafka = new TreeMap<>();
    kafka.put("bootstrap.servers", "localhost:9092");
    values.forEach((key, value) -> {
      if (key.startsWith("kafka.")) {
        kafka.put(key.substring("kafka.".length()), value);
      }
    });
    return new WorkerSettings(
        kind,
        source,
        v.get("worker.id", defaultWorkerId()),
        v.get("worker.group.id", "mmstream-worker-" + kind.id()),
        v.get("worker.transactional.id.prefix", "mmstream-worker-" + kind.id()),
        v.millis("worker.transaction.timeout.ms", 30_000),
        v.millis("worker.commit.interval.ms", 100),
        v.millis("worker.poll.timeout.ms", 20),
        v.integer("worker.max.poll.records", 100),
        v.integer("worker.batch.max.size", 8),
        v.millis("worker.batch.max.delay.ms", 20),
        v.integers("worker.batch.preferred.sizes"),
        maxInFlight,
        v.integer("worker.resume.threshold", maxInFlight / 2),
        v.integer("worker.decode.threads", Runtime.getRuntime().availableProcessors()),
        DeadlinePolicy.valueOf(v.get("worker.deadline.policy", "dlq").toUpperCase(Locale.ROOT)),
        DeviceChoice.valueOf(v.get("worker.device", "cpu").toUpperCase(Locale.ROOT)),
        Boolean.parseBoolean(v.get("worker.fp16", "false")),
        v.integer("worker.http.port", 8080),
        v.millis("worker.progress.interval.ms", 10_000),
        v.millis("worker.shutdown.timeout.ms", 30_000),
        v.longValue("worker.image.max.bytes", 20L << 20),
        v.longValue("worker.image.max.pixels", 40_000_000L),
        v.integer("worker.dlq.original.max.bytes", 262_144),
        kafka);
  }

  /**
   * Merges the sources in increasing precedence: the properties file (if any), the environment, then
   * explicit overrides (command-line options).
   */
  public static WorkerSettings load(Path propertiesFile, Map<String, String> environment, Map<String, String> overrides) {
    Map<String, String> merged = new LinkedHashMap<>();
    if (propertiesFile != null) {
      merged.putAll(readProperties(propertiesFile));
    }
    merged.putAll(fromEnvironment(environment));
    merged.putAll(overrides);
    return fromMap(merged);
  }

  /** The environment variable that carries {@code key}. */
  public static String environmentVariable(String key) {
    return "MMSTREAM_" + key.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  static Map<String, String> fromEnvironment(Map<String, String> environment) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String key : KEYS.keySet()) {
      String value = environment.get(environmentVariable(key));
      if (value != null) {
        out.put(key, value);
      }
    }
    // Kafka client keys are open-ended: MMSTREAM_KAFKA_SASL_MECHANISM -> kafka.sasl.mechanism.
    environment.forEach((name, value) -> {
      if (name.startsWith("MMSTREAM_KAFKA_")) {
        out.put("kafka." + name.substring("MMSTREAM_KAFKA_".length()).toLowerCase(Locale.ROOT).replace('_', '.'), value);
      }
    });
    return out;
  }

  private static Map<String, String> readProperties(Path file) {
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(file)) {
      properties.load(reader);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read settings file " + file, e);
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : properties.stringPropertyNames()) {
      out.put(name, properties.getProperty(name).trim());
    }
    return out;
  }

  private static String defaultWorkerId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "localhost";
    }
    return host + "-" + ManagementFactory.getRuntimeMXBean().getPid();
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }

  private record Lookup(Map<String, String> values) {
    String get(String key, String fallback) {
      String value = values.get(key);
      return value == null || value.isBlank() ? fallback : value.trim();
    }

    String required(String key) {
      String value = get(key, "");
      if (value.isEmpty()) {
        throw new IllegalArgumentException("missing setting " + key + " (env " + environmentVariable(key) + ")");
      }
      return value;
    }

    int integer(String key, int fallback) {
      return (int) longValue(key, fallback);
    }

    long longValue(String key, long fallback) {
      String value = get(key, "");
      try {
        return value.isEmpty() ? fallback : Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(key + " must be a number, got '" + value + "'");
      }
    }

    Duration millis(String key, long fallback) {
      return Duration.ofMillis(longValue(key, fallback));
    }

    List<Integer> integers(String key) {
      List<Integer> out = new ArrayList<>();
      for (String part : get(key, "").split(",")) {
        if (!part.isBlank()) {
          out.add(Integer.parseInt(part.trim()));
        }
      }
      return out;
    }
  }

  /** One line for the start-up log. */
  public String describeBatching() {
    return "batch max " + batchMaxSize + ", max delay " + batchMaxDelay.toMillis() + " ms"
        + (preferredBatchSizes.isEmpty() ? "" : ", preferred " + Arrays.toString(preferredBatchSizes.toArray()))
        + ", max in-flight " + maxInFlight + " (resume at " + resumeThreshold + "), decode threads " + decodeThreads
        + ", commit every " + commitInterval.toMillis() + " ms, deadline policy " + deadlinePolicy.name().toLowerCase(Locale.ROOT);
  }
}

package io.mmstream.stream;

import io.mmstream.config.LabelSets;
import io.mmstream.config.Settings;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskType;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.StreamPartitioner;
import org.apache.kafka.streams.state.Stores;

/**
 * The enrichment pipeline as one topology.
 *
 * <p>Reads {@code mm.images.v1} (ImageEvent, any key) and {@code mm.results.v1} (TaskResult, keyed
 * tenant/contentHash like the TaskRequest it answers). Writes {@code mm.images.accepted.v1} (validated
 * events re-keyed tenant/contentHash, read back by the join), {@code mm.tasks.<task>.v1} (one TaskRequest
 * per requested task), {@code mm.enriched.v1}, {@code mm.moderation.v1} and {@code mm.dlq.v1}.
 *
 * <p>Every source reads raw bytes and decodes inside a processor, so a record that cannot be decoded
 * becomes a dead letter written by the topology itself: the DLQ write, the state change and the
 * offset commit are one exactly-once transaction (a DeserializationExceptionHandler could not give
 * that, and would see only the bytes, not the stage).
 */
public final class EnrichmentTopology {

  /**
   * The join's state: one entry per event ({@code tenant/contentHash|eventId}), in flight and then, once
   * complete, the results its bytes' reposts reuse.
   */
  public static final String STATE_STORE = "enrichment-state";

  static final String IMAGES_SOURCE = "images-source";
  static final String INGEST = "validate-images";
  static final String ACCEPTED_SINK = "accepted-sink";
  static final String ACCEPTED_SOURCE = "accepted-source";
  static final String RESULTS_SOURCE = "results-source";
  static final String JOIN = "join-results";
  static final String DLQ_SINK = "dlq-sink";
  static final String ENRICHED_SINK = "enriched-sink";
  static final String MODERATION_SINK = "moderation-sink";

  private final Settings settings;
  private final LabelSets labelSets;
  private final ModerationPolicy moderation;
  private final AvroSerdes serdes;
  private final StreamMetrics metrics;

  /** A topology whose meters are kept in memory only (TopologyTestDriver tests). */
  public EnrichmentTopology(Settings settings, LabelSets labelSets, ModerationPolicy moderation, AvroSerdes serdes) {
    this(settings, labelSets, moderation, serdes, StreamMetrics.unexposed());
  }

  public EnrichmentTopology(Settings settings, LabelSets labelSets, ModerationPolicy moderation, AvroSerdes serdes,
      StreamMetrics metrics) {
    this.settings = settings;
    this.labelSets = labelSets;
    this.moderation = moderation;
    this.serdes = serdes;
    this.metrics = metrics;
  }

  /** The topology with label sets, moderation policy and extra schemas read from the files the settings name. */
  public static EnrichmentTopology from(Settings settings, StreamMetrics metrics) {
    return new EnrichmentTopology(settings,
        LabelSets.loadOrEmpty(settings.get(StreamSettings.LABEL_SETS_PATH)),
        ModerationPolicy.loadOrNone(settings.get(StreamSettings.MODERATION_POLICY_PATH)),
        AvroSerdes.from(settings), metrics);
  }

  static String taskSink(TaskType task) {
    return "task-" + task.name().toLowerCase(Locale.ROOT) + "-sink";
  }

  public Topology build() {
    String application = settings.get(StreamSettings.APPLICATION_ID);
    DeadLetters deadLetters = new DeadLetters(application, metrics, settings.get(StreamSettings.DLQ_ORIGINAL_MAX_BYTES));
    ImageEventValidator validator = new ImageEventValidator(settings, labelSets);
    long deadlineMs = settings.get(StreamSettings.JOIN_DEADLINE_MS);
    long checkIntervalMs = settings.get(StreamSettings.JOIN_CHECK_INTERVAL_MS);
    boolean repostEnabled = settings.get(StreamSettings.REPOST_ENABLED);
    long repostRetentionMs = settings.get(StreamSettings.REPOST_RETENTION_MS);
    boolean retryOnDeadline = settings.get(StreamSettings.JOIN_RETRY_ON_DEADLINE);
    StringSerializer keys = new StringSerializer();
    ByteArrayDeserializer raw = new ByteArrayDeserializer();

    Topology t = new Topology();
    t.addSource(IMAGES_SOURCE, raw, raw, Topics.IMAGES);
    t.addProcessor(INGEST, () -> new ImageIngestProcessor(validator, serdes.imageEvent(), deadLetters, metrics,
        settings.get(StreamSettings.MAX_EVENT_BYTES)), IMAGES_SOURCE);
    t.addSink(ACCEPTED_SINK, Topics.IMAGES_ACCEPTED, keys, anyRecord(serdes.acceptedImage()), INGEST);

    t.addSource(ACCEPTED_SOURCE, raw, raw, Topics.IMAGES_ACCEPTED);
    t.addSource(RESULTS_SOURCE, raw, raw, Topics.RESULTS);
    t.addProcessor(JOIN, () -> new EnrichmentJoinProcessor(serdes.acceptedImage(), serdes.taskResult(), moderation,
        deadLetters, metrics, deadlineMs, checkIntervalMs, repostEnabled, repostRetentionMs, retryOnDeadline),
        ACCEPTED_SOURCE, RESULTS_SOURCE);
    // A window store drops old entries by itself (whole segments, no tombstones); it keeps every entry at
    // least as long as reposts may reuse it and twice as long as any event may stay in flight. Caching folds
    // an entry's writes within one commit into one changelog record.
    long inFlightMs = EnrichmentJoinProcessor.longestInFlightMs(deadlineMs, checkIntervalMs);
    Duration retention = Duration.ofMillis(Math.max(repostEnabled ? repostRetentionMs : 0, 2 * inFlightMs));
    t.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(STATE_STORE, retention,
        Duration.ofMillis(1), false), Serdes.String(), serdes.pendingEnrichment()).withCachingEnabled(), JOIN);

    for (TaskType task : Topics.ROUTED_TASKS) {
      t.addSink(taskSink(task), Topics.taskTopic(task), keys, anyRecord(serdes.taskRequest()), retriesElsewhere(),
          JOIN);
    }
    t.addSink(ENRICHED_SINK, Topics.ENRICHED, keys, anyRecord(serdes.enrichedImage()), JOIN);
    t.addSink(MODERATION_SINK, Topics.MODERATION, keys, anyRecord(serdes.moderationDecision()), JOIN);
    t.addSink(DLQ_SINK, Topics.DLQ, keys, anyRecord(serdes.deadLetter()), INGEST, JOIN);
    return t;
  }

  /**
   * A re-routed task goes to the partition after its key's own, so another worker can take it when
   * the first attempt's partition sits with a crashed one; a first attempt takes the default partition.
   */
  static StreamPartitioner<String, SpecificRecord> retriesElsewhere() {
    return (topic, key, value, partitions) -> {
      if (partitions > 1 && key != null && value instanceof TaskRequest request
          && request.getTaskId().endsWith(EnrichmentJoinProcessor.RETRY_SUFFIX)) {
        int own = Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
        return Optional.of(Set.of((own + 1) % partitions));
      }
      return Optional.empty();
    };
  }

  /**
   * The processors forward {@code SpecificRecord}s to named sinks; each sink serialises exactly one
   * record type, and a wrong type fails loudly here instead of writing the wrong schema.
   */
  static <T extends SpecificRecord> Serializer<SpecificRecord> anyRecord(AvroSerde<T> serde) {
    return (topic, value) -> {
      if (value != null && !value.getSchema().getFullName().equals(serde.schema().getFullName())) {
        throw new IllegalStateException("sink for " + topic + " got a " + value.getSchema().getFullName());
      }
      @SuppressWarnings("unchecked")
      T typed = (T) value;
      return serde.serialize(topic, typed);
    };
  }
}

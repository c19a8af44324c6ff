package io.mmstream.stream;

import io.mmstream.schema.AcceptedImage;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.MissingTask;
import io.mmstream.schema.PendingEnrichment;
import io.mmstream.schema.RequestedTasks;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * The join: for each accepted image, either reuse a repost's results or route one TaskRequest per
 * task and remember what is expected; for each TaskResult, add it to its image's state; emit an
 * EnrichedImage (and its ModerationDecision) when every task has answered, or a partial one when the
 * deadline passes (a wall-clock punctuator). Accepted images and task results are co-partitioned by
 * tenant/contentHash, so an image's state, its results and its repost cache entry live in one task.
 *
 * <p>Tenants are kept apart: join state is keyed by tenant + eventId and reposts by tenant/contentHash,
 * and a result joins only when its tenant, its record key and the state it names all agree (a result
 * keyed for one tenant but naming another, or keyed for other bytes, is dead-lettered).
 */
final class EnrichmentJoinProcessor implements Processor<byte[], byte[], String, SpecificRecord> {

  private final AvroSerde<AcceptedImage> acceptedSerde;
  private final AvroSerde<TaskResult> resultSerde;
  private final ModerationPolicy moderation;
  private final DeadLetters deadLetters;
  private final StreamMetrics metrics;
  private final long deadlineMs;
  private final long checkIntervalMs;
  private final boolean repostEnabled;
  private final long repostRetentionMs;

  private ProcessorContext<String, SpecificRecord> context;
  private KeyValueStore<String, PendingEnrichment> pending;
  private KeyValueStore<String, String> deadlines;
  private WindowStore<String, EnrichedImage> reposts;

  EnrichmentJoinProcessor(AvroSerde<AcceptedImage> acceptedSerde, AvroSerde<TaskResult> resultSerde,
      ModerationPolicy moderation, DeadLetters deadLetters, StreamMetrics metrics, long deadlineMs,
      long checkIntervalMs, boolean repostEnabled, long repostRetentionMs) {
    this.acceptedSerde = acceptedSerde;
    this.resultSerde = resultSerde;
    this.moderation = moderation;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.deadlineMs = deadlineMs;
    this.checkIntervalMs = checkIntervalMs;
    this.repostEnabled = repostEnabled;
    this.repostRetentionMs = repostRetentionMs;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    this.pending = context.getStateStore(EnrichmentTopology.PENDING_STORE);
    this.deadlines = context.getStateStore(EnrichmentTopology.DEADLINE_STORE);
    this.reposts = context.getStateStore(EnrichmentTopology.REPOST_STORE);
    context.schedule(Duration.ofMillis(checkIntervalMs), PunctuationType.WALL_CLOCK_TIME, this::emitExpired);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    String topic = context.recordMetadata().map(m -> m.topic()).orElse("");
    if (topic.equals(Topics.IMAGES_ACCEPTED)) {
      processAccepted(record);
    } else {
      processResult(record);
    }
  }

  private void processAccepted(Record<byte[], byte[]> record) {
    AcceptedImage accepted;
    try {
      accepted = acceptedSerde.decode(record.value());
    } catch (MessageDecodeException e) {
      undecodable(record, e);
      return;
    }
    ImageEvent event = accepted.getEvent();
    String key = ImageIngestProcessor.contentKey(event.getTenant(), accepted.getContentHash());
    String pendingKey = pendingKey(event.getTenant(), event.getEventId());
    long now = context.currentSystemTimeMs();
    if (pending.get(pendingKey) != null) {
      deadLetter(record, DeadLetters.STAGE_JOIN, "DUPLICATE_EVENT",
          "event " + event.getEventId() + " is already being enriched", event.getEventId(), event.getTenant(), null);
      return;
    }
    if (repostEnabled) {
      EnrichedImage earlier = latestRepost(key, now);
      if (earlier != null) {
        emit(reused(earlier, event, now), record);
        return;
      }
    }
    List<TaskType> expected = requestedTasks(event.getTasks());
    long deadline = now + deadlineMs;
    pending.put(pendingKey, PendingEnrichment.newBuilder()
        .setEventId(event.getEventId())
        .setImageId(event.getImageId())
        .setTenant(event.getTenant())
        .setEventTime(event.getEventTime())
        .setContentHash(accepted.getContentHash())
        .setExpected(expected)
        .setResults(List.of())
        .setDeadline(Instant.ofEpochMilli(deadline))
        .build());
    deadlines.put(deadlineKey(deadline, pendingKey), pendingKey);
    for (TaskType task : expected) {
      TaskRequest request = taskRequest(event, accepted.getContentHash(), task, deadline);
      context.forward(new Record<String, SpecificRecord>(key, request, record.timestamp()),
          EnrichmentTopology.taskSink(task));
    }
  }

  private void processResult(Record<byte[], byte[]> record) {
    TaskResult result;
    try {
      result = resultSerde.decode(record.value());
    } catch (MessageDecodeException e) {
      undecodable(record, e);
      return;
    }
    String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    PendingEnrichment state = pending.get(pendingKey(result.getTenant(), result.getEventId()));
    String reason = null;
    String message = null;
    if (key == null || !key.startsWith(result.getTenant() + "/")) {
      reason = "TENANT_MISMATCH";
      message = "result of tenant " + result.getTenant() + " under the key of another tenant (" + key + ")";
    } else if (state == null) {
      reason = "UNKNOWN_EVENT";
      message = "no enrichment of tenant " + result.getTenant() + " waits for event " + result.getEventId()
          + " here: it arrived after the deadline, was a duplicate, or the worker did not key the result like its"
          + " TaskRequest";
    } else if (!key.equals(ImageIngestProcessor.contentKey(state.getTenant(), state.getContentHash()))) {
      reason = "KEY_MISMATCH";
      message = "result keyed " + key + " for an event whose tasks were keyed by other bytes";
    } else if (!state.getExpected().contains(result.getTask())) {
      reason = "UNEXPECTED_TASK";
      message = "task " + result.getTask() + " was not requested for event " + result.getEventId();
    } else if (state.getResults().stream().anyMatch(r -> r.getTask() == result.getTask())) {
      reason = "DUPLICATE_RESULT";
      message = "a " + result.getTask() + " result for event " + result.getEventId() + " was already received";
    }
    if (reason != null) {
      deadLetter(record, DeadLetters.STAGE_JOIN, reason, message, result.getEventId(), result.getTenant(),
          result.getTaskId());
      return;
    }
    List<TaskResult> results = new ArrayList<>(state.getResults());
    results.add(result);
    state.setResults(results);
    if (results.size() == state.getExpected().size()) {
      finish(state, record);
    } else {
      pending.put(pendingKey(state.getTenant(), state.getEventId()), state);
    }
  }

  /** Emits every enrichment whose deadline has passed, as partial. */
  private void emitExpired(long now) {
    List<KeyValue<String, String>> expired = new ArrayList<>();
    try (KeyValueIterator<String, String> it = deadlines.range(null, deadlineKey(now, "\uffff"))) {
      it.forEachRemaining(expired::add);
    }
    for (KeyValue<String, String> e : expired) {
      PendingEnrichment state = pending.get(e.value);
      if (state == null) {
        deadlines.delete(e.key);
      } else {
        finish(state, new Record<>(null, null, now));
      }
    }
  }

  private void finish(PendingEnrichment state, Record<?, ?> cause) {
    long now = context.currentSystemTimeMs();
    List<TaskResult> succeeded = new ArrayList<>();
    List<MissingTask> missing = new ArrayList<>();
    for (TaskType task : state.getExpected()) {
      TaskResult r = state.getResults().stream().filter(x -> x.getTask() == task).findFirst().orElse(null);
      if (r == null) {
        missing.add(new MissingTask(task, "TIMEOUT: no result within " + deadlineMs + " ms"));
      } else if (r.getFailure() != null) {
        missing.add(new MissingTask(task, "FAILED: " + r.getFailure().getReasonCode() + ": "
            + r.getFailure().getMessage()));
      } else {
        succeeded.add(r);
      }
    }
    EnrichedImage enriched = EnrichedImage.newBuilder()
        .setEventId(state.getEventId())
        .setImageId(state.getImageId())
        .setTenant(state.getTenant())
        .setEventTime(state.getEventTime())
        .setContentHash(state.getContentHash())
        .setResults(succeeded)
        .setMissing(missing)
        .setComplete(missing.isEmpty())
        .setEnrichedAt(Instant.ofEpochMilli(now))
        .build();
    String pendingKey = pendingKey(state.getTenant(), state.getEventId());
    pending.delete(pendingKey);
    deadlines.delete(deadlineKey(state.getDeadline().toEpochMilli(), pendingKey));
    if (repostEnabled && enriched.getComplete()) {
      reposts.put(ImageIngestProcessor.contentKey(state.getTenant(), state.getContentHash()), enriched, now);
    }
    emit(enriched, cause);
  }

  private void emit(EnrichedImage enriched, Record<?, ?> cause) {
    long now = context.currentSystemTimeMs();
    context.forward(new Record<String, SpecificRecord>(enriched.getEventId(), enriched, cause.timestamp()),
        EnrichmentTopology.ENRICHED_SINK);
    metrics.recordEnriched(enriched);
    context.forward(new Record<String, SpecificRecord>(enriched.getEventId(),
        moderation.decide(enriched, Instant.ofEpochMilli(now)), cause.timestamp()), EnrichmentTopology.MODERATION_SINK);
  }

  private EnrichedImage latestRepost(String key, long now) {
    try (WindowStoreIterator<EnrichedImage> it = reposts.backwardFetch(key, Instant.ofEpochMilli(
        Math.max(0, now - repostRetentionMs)), Instant.ofEpochMilli(now))) {
      return it.hasNext() ? it.next().value : null;
    }
  }

  private static EnrichedImage reused(EnrichedImage earlier, ImageEvent event, long now) {
    return EnrichedImage.newBuilder(earlier)
        .setEventId(event.getEventId())
        .setImageId(event.getImageId())
        .setEventTime(event.getEventTime())
        .setReusedFrom(earlier.getEventId())
        .setEnrichedAt(Instant.ofEpochMilli(now))
        .build();
  }

  private static List<TaskType> requestedTasks(RequestedTasks tasks) {
    List<TaskType> out = new ArrayList<>();
    if (tasks.getTag() != null) {
      out.add(TaskType.TAG);
    }
    if (tasks.getCaption() != null) {
      out.add(TaskType.CAPTION);
    }
    if (tasks.getVqa() != null) {
      out.add(TaskType.VQA);
    }
    return out;
  }

  private static TaskRequest taskRequest(ImageEvent event, String contentHash, TaskType task, long deadline) {
    RequestedTasks t = event.getTasks();
    return TaskRequest.newBuilder()
        .setTaskId(event.getEventId() + "/" + task.name().toLowerCase(Locale.ROOT))
        .setEventId(event.getEventId())
        .setImageId(event.getImageId())
        .setTenant(event.getTenant())
        .setTask(task)
        .setSource(event.getSource())
        .setContentType(event.getContentType())
        .setTag(task == TaskType.TAG ? t.getTag() : null)
        .setCaption(task == TaskType.CAPTION ? t.getCaption() : null)
        .setVqa(task == TaskType.VQA ? t.getVqa() : null)
        .setContentHash(contentHash)
        .setEventTime(event.getEventTime())
        .setDeadline(Instant.ofEpochMilli(deadline))
        .build();
  }

  /** Sorts by deadline: 13 zero-padded digits cover epoch milliseconds until the year 2286. */
  private static String deadlineKey(long deadline, String pendingKey) {
    return String.format(Locale.ROOT, "%013d|%s", deadline, pendingKey);
  }

  /** Join state is per tenant: another tenant's event with the same id neither blocks nor meets it. */
  private static String pendingKey(String tenant, String eventId) {
    return tenant + "/" + eventId;
  }

  private void undecodable(Record<byte[], byte[]> record, MessageDecodeException e) {
    context.forward(new Record<String, SpecificRecord>(DeadLetters.originalKeyText(record),
        deadLetters.undecodable(context, record, e), record.timestamp()), EnrichmentTopology.DLQ_SINK);
  }

  private void deadLetter(Record<byte[], byte[]> record, String stage, String reason, String message, String eventId,
      String tenant, String taskId) {
    context.forward(new Record<String, SpecificRecord>(eventId,
        deadLetters.of(context, record, stage, reason, message, eventId, tenant, taskId), record.timestamp()),
        EnrichmentTopology.DLQ_SINK);
  }
}

package io.mmstream.stream;

import io.mmstream.schema.AcceptedImage;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.MissingTask;
import io.mmstream.schema.PendingEnrichment;
import io.mmstream.schema.RequestedTasks;
import io.mmstream.schema.TaskFailure;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * <p>Failure semantics: a task without a result at its deadline is re-routed once (task id suffix
 * {@link #RETRY_SUFFIX}, sent to another partition of its task topic) and given the deadline again,
 * so a crashed worker's tasks are redone by whoever holds their partition next; the first successful
 * result of either attempt counts and the other is dropped as superseded. When an image finishes with
 * tasks missing, one dead letter per failure cause names every task it affected. The same bytes
 * arriving again (same tenant) while the first event is in flight wait for its result and reuse it.
 *
 * <p>Tenants are kept apart: join state is keyed by tenant + eventId and reposts by tenant/contentHash,
 * and a result joins only when its tenant, its record key and the state it names all agree (a result
 * keyed for one tenant but naming another, or keyed for other bytes, is dead-lettered).
 */
final class EnrichmentJoinProcessor implements Processor<byte[], byte[], String, SpecificRecord> {

  /** Ends the task id of a re-routed task: the task sinks send it to another partition than the first attempt. */
  static final String RETRY_SUFFIX = "/retry";
  static final String DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED";
  /** Stage of a dead letter for a failed result from a worker that did not say where it failed. */
  static final String STAGE_TASK = "task";
  static final String STAGE_DEADLINE = "deadline";

  private final AvroSerde<AcceptedImage> acceptedSerde;
  private final AvroSerde<TaskResult> resultSerde;
  private final ModerationPolicy moderation;
  private final DeadLetters deadLetters;
  private final StreamMetrics metrics;
  private final long deadlineMs;
  private final long checkIntervalMs;
  private final boolean repostEnabled;
  private final long repostRetentionMs;
  private final boolean retryOnDeadline;

  private ProcessorContext<String, SpecificRecord> context;
  private KeyValueStore<String, PendingEnrichment> pending;
  private KeyValueStore<String, String> deadlines;
  private WindowStore<String, EnrichedImage> reposts;
  private KeyValueStore<String, String> inFlight;
  private KeyValueStore<String, byte[]> routed;

  EnrichmentJoinProcessor(AvroSerde<AcceptedImage> acceptedSerde, AvroSerde<TaskResult> resultSerde,
      ModerationPolicy moderation, DeadLetters deadLetters, StreamMetrics metrics, long deadlineMs,
      long checkIntervalMs, boolean repostEnabled, long repostRetentionMs, boolean retryOnDeadline) {
    this.acceptedSerde = acceptedSerde;
    this.resultSerde = resultSerde;
    this.moderation = moderation;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.deadlineMs = deadlineMs;
    this.checkIntervalMs = checkIntervalMs;
    this.repostEnabled = repostEnabled;
    this.repostRetentionMs = repostRetentionMs;
    this.retryOnDeadline = retryOnDeadline;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    this.pending = context.getStateStore(EnrichmentTopology.PENDING_STORE);
    this.deadlines = context.getStateStore(EnrichmentTopology.DEADLINE_STORE);
    this.reposts = context.getStateStore(EnrichmentTopology.REPOST_STORE);
    this.inFlight = context.getStateStore(EnrichmentTopology.IN_FLIGHT_STORE);
    this.routed = context.getStateStore(EnrichmentTopology.ROUTED_STORE);
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
    List<TaskType> expected = requestedTasks(event.getTasks());
    if (repostEnabled) {
      EnrichedImage earlier = latestRepost(key, now);
      if (earlier != null) {
        emit(reused(earlier, event.getEventId(), event.getImageId(), event.getEventTime(), now), record);
        return;
      }
      String waiting = inFlight.get(key);
      if (waiting != null && sameRequest(waiting.split("\n", 2)[0], event, expected)) {
        // The same bytes with the same request are being enriched for this tenant: wait for that result
        // instead of running the models again. The fallback deadline lies past the first event's last
        // possible one (its retry included), so it only fires if that event's state is gone.
        long fallback = now + 2 * deadlineMs + 2 * checkIntervalMs;
        remember(pendingState(event, accepted.getContentHash(), expected, fallback), pendingKey);
        inFlight.put(key, waiting + "\n" + pendingKey);
        metrics.recordJoin("repost_waited");
        return;
      }
      if (waiting == null) {
        inFlight.put(key, pendingKey);
      }
    }
    long deadline = now + deadlineMs;
    remember(pendingState(event, accepted.getContentHash(), expected, deadline), pendingKey);
    if (retryOnDeadline) {
      routed.put(pendingKey, record.value());
    }
    for (TaskType task : expected) {
      route(taskRequest(event, accepted.getContentHash(), task, deadline, ""), key, record.timestamp());
    }
  }

  /** Whether {@code event} asks what the in-flight event {@code leaderKey} asked (its tasks, labels, questions). */
  private boolean sameRequest(String leaderKey, ImageEvent event, List<TaskType> expected) {
    byte[] leader = routed.get(leaderKey);
    if (leader != null) {
      return acceptedSerde.decode(leader).getEvent().getTasks().equals(event.getTasks());
    }
    PendingEnrichment state = pending.get(leaderKey);
    return state != null && state.getExpected().equals(expected);
  }

  private static PendingEnrichment pendingState(ImageEvent event, String contentHash, List<TaskType> expected,
      long deadline) {
    return PendingEnrichment.newBuilder()
        .setEventId(event.getEventId())
        .setImageId(event.getImageId())
        .setTenant(event.getTenant())
        .setEventTime(event.getEventTime())
        .setContentHash(contentHash)
        .setExpected(expected)
        .setResults(List.of())
        .setDeadline(Instant.ofEpochMilli(deadline))
        .setRetried(List.of())
        .build();
  }

  private void remember(PendingEnrichment state, String pendingKey) {
    pending.put(pendingKey, state);
    deadlines.put(deadlineKey(state.getDeadline().toEpochMilli(), pendingKey), pendingKey);
  }

  private void route(TaskRequest request, String key, long timestamp) {
    context.forward(new Record<String, SpecificRecord>(key, request, timestamp),
        EnrichmentTopology.taskSink(request.getTask()));
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
    } else if (!state.getRetried().contains(result.getTask())
        && state.getResults().stream().anyMatch(r -> r.getTask() == result.getTask())) {
      reason = "DUPLICATE_RESULT";
      message = "a " + result.getTask() + " result for event " + result.getEventId() + " was already received";
    }
    if (reason != null) {
      deadLetter(record, DeadLetters.STAGE_JOIN, reason, message, result.getEventId(), result.getTenant(),
          result.getTaskId());
      return;
    }
    if (superseded(state, result)) {
      metrics.recordJoin("superseded");
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

  /**
   * Whether a result of a task that is (or will be) re-routed is not the one to keep: the other attempt
   * already answered, or it is the first attempt's failure (the retry decides), or it says the first
   * attempt's deadline passed (the punctuator re-routes the task).
   */
  private boolean superseded(PendingEnrichment state, TaskResult result) {
    boolean retried = state.getRetried().contains(result.getTask());
    if (retried && state.getResults().stream().anyMatch(r -> r.getTask() == result.getTask())) {
      return true;
    }
    boolean firstAttempt = !result.getTaskId().endsWith(RETRY_SUFFIX);
    boolean failed = result.getFailure() != null;
    if (retried) {
      return failed && firstAttempt;
    }
    return retryOnDeadline && failed && DEADLINE_EXCEEDED.equals(result.getFailure().getReasonCode());
  }

  /** Re-routes the unanswered tasks of every enrichment whose deadline has passed once, then emits it as partial. */
  private void emitExpired(long now) {
    List<KeyValue<String, String>> expired = new ArrayList<>();
    try (KeyValueIterator<String, String> it = deadlines.range(null, deadlineKey(now, "\uffff"))) {
      it.forEachRemaining(expired::add);
    }
    for (KeyValue<String, String> e : expired) {
      PendingEnrichment state = pending.get(e.value);
      if (state == null) {
        deadlines.delete(e.key);
        continue;
      }
      List<TaskType> unanswered = state.getExpected().stream()
          .filter(t -> state.getResults().stream().noneMatch(r -> r.getTask() == t)).toList();
      byte[] accepted = routed.get(e.value);
      if (accepted != null && state.getRetried().isEmpty() && !unanswered.isEmpty()) {
        retry(state, e, unanswered, acceptedSerde.decode(accepted), now);
      } else {
        finish(state, new Record<>(null, null, now));
      }
    }
  }

  private void retry(PendingEnrichment state, KeyValue<String, String> deadlineEntry, List<TaskType> tasks,
      AcceptedImage accepted, long now) {
    long deadline = now + deadlineMs;
    deadlines.delete(deadlineEntry.key);
    state.setDeadline(Instant.ofEpochMilli(deadline));
    state.setRetried(tasks);
    remember(state, deadlineEntry.value);
    String key = ImageIngestProcessor.contentKey(state.getTenant(), state.getContentHash());
    for (TaskType task : tasks) {
      route(taskRequest(accepted.getEvent(), state.getContentHash(), task, deadline, RETRY_SUFFIX), key, now);
      metrics.recordJoin("retried");
    }
  }

  private void finish(PendingEnrichment state, Record<?, ?> cause) {
    long now = context.currentSystemTimeMs();
    List<TaskResult> succeeded = new ArrayList<>();
    List<MissingTask> missing = new ArrayList<>();
    // One dead letter per failure cause (stage + reason), naming every task it affected.
    Map<String, List<TaskResult>> failures = new LinkedHashMap<>();
    List<TaskType> timedOut = new ArrayList<>();
    for (TaskType task : state.getExpected()) {
      TaskResult r = state.getResults().stream().filter(x -> x.getTask() == task).findFirst().orElse(null);
      if (r == null) {
        missing.add(new MissingTask(task, "TIMEOUT: no result within " + deadlineMs + " ms"
            + (state.getRetried().contains(task) ? ", twice (re-routed once)" : "")));
        timedOut.add(task);
      } else if (r.getFailure() != null) {
        missing.add(new MissingTask(task, "FAILED: " + r.getFailure().getReasonCode() + ": "
            + r.getFailure().getMessage()));
        failures.computeIfAbsent(failureStage(r) + "|" + r.getFailure().getReasonCode(), k -> new ArrayList<>()).add(r);
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
    routed.delete(pendingKey);
    String contentKey = ImageIngestProcessor.contentKey(state.getTenant(), state.getContentHash());
    if (repostEnabled && enriched.getComplete()) {
      reposts.put(contentKey, enriched, now);
    }
    List<String> waiters = repostEnabled ? waitersOf(contentKey, pendingKey) : List.of();
    for (List<TaskResult> sameCause : failures.values()) {
      TaskFailure first = sameCause.get(0).getFailure();
      eventDeadLetter(state, failureStage(sameCause.get(0)), first.getReasonCode(),
          sameCause.stream().map(TaskResult::getTask).toList(), first.getMessage(), cause);
    }
    if (!timedOut.isEmpty()) {
      eventDeadLetter(state, STAGE_DEADLINE, DEADLINE_EXCEEDED, timedOut, "no result within the deadline of "
          + deadlineMs + " ms" + (retryOnDeadline ? ", re-routed once and again none" : ""), cause);
    }
    emit(enriched, cause);
    for (String waiter : waiters) {
      PendingEnrichment w = pending.get(waiter);
      if (w != null) {
        pending.delete(waiter);
        deadlines.delete(deadlineKey(w.getDeadline().toEpochMilli(), waiter));
        emit(reused(enriched, w.getEventId(), w.getImageId(), w.getEventTime(), now), cause);
      }
    }
  }

  /**
   * The events waiting for {@code pendingKey}'s result when it leads the in-flight entry of its bytes
   * (the entry is removed then); none when it is itself a waiter whose fallback deadline fired.
   */
  private List<String> waitersOf(String contentKey, String pendingKey) {
    String entry = inFlight.get(contentKey);
    if (entry == null) {
      return List.of();
    }
    List<String> keys = List.of(entry.split("\n"));
    if (!keys.get(0).equals(pendingKey)) {
      return List.of();
    }
    inFlight.delete(contentKey);
    return keys.subList(1, keys.size());
  }

  private void eventDeadLetter(PendingEnrichment state, String stage, String reason, List<TaskType> tasks,
      String message, Record<?, ?> cause) {
    String taskIds = String.join(",", tasks.stream()
        .map(t -> state.getEventId() + "/" + t.name().toLowerCase(Locale.ROOT)).toList());
    context.forward(new Record<String, SpecificRecord>(state.getEventId(), deadLetters.ofEvent(context, stage, reason,
        tasks + " of event " + state.getEventId() + ": " + message, state.getEventId(), state.getTenant(), taskIds),
        cause.timestamp()), EnrichmentTopology.DLQ_SINK);
  }

  private static String failureStage(TaskResult r) {
    return r.getFailure().getStage() == null ? STAGE_TASK : r.getFailure().getStage();
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

  private static EnrichedImage reused(EnrichedImage earlier, String eventId, String imageId, Instant eventTime,
      long now) {
    return EnrichedImage.newBuilder(earlier)
        .setEventId(eventId)
        .setImageId(imageId)
        .setEventTime(eventTime)
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

  private static TaskRequest taskRequest(ImageEvent event, String contentHash, TaskType task, long deadline,
      String attemptSuffix) {
    RequestedTasks t = event.getTasks();
    return TaskRequest.newBuilder()
        .setTaskId(event.getEventId() + "/" + task.name().toLowerCase(Locale.ROOT) + attemptSuffix)
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

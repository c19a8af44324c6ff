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
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.WindowStore;

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
 * <p>State: one entry per event in one window store (key {@code tenant/contentHash|eventId}, window start the
 * instant the event was accepted), written when the event is accepted and again when it completes (then
 * holding only its succeeded results, which reposts reuse), so a tag + caption event costs two changelog
 * records; the store's retention drops old entries without tombstones. Which events are in flight and their
 * deadlines are indexed in memory with their entries, rebuilt from the store whenever the processor starts (the
 * store is the truth; the index finds entries without scanning or decoding them).
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

  /**
   * An in-flight event: where its entry lies, when its deadline falls, and the entry as last written (every
   * write goes through {@link #write}, so reading it back from the store would only decode it again).
   */
  private record Slot(String pendingKey, String contentKey, String storeKey, long acceptedAt, long deadline,
      PendingEnrichment state) {}

  private static final Comparator<Slot> BY_DEADLINE =
      Comparator.comparingLong(Slot::deadline).thenComparing(Slot::pendingKey);

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
  private WindowStore<String, PendingEnrichment> entries;
  private final Map<String, Slot> inFlight = new HashMap<>();
  private final Map<String, Set<String>> inFlightByContent = new HashMap<>();
  private final TreeSet<Slot> deadlines = new TreeSet<>(BY_DEADLINE);

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

  /** How long an entry may stay in flight: a waiter's fallback deadline, which lies past its leader's retry. */
  static long longestInFlightMs(long deadlineMs, long checkIntervalMs) {
    return 2 * deadlineMs + 2 * checkIntervalMs;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    this.entries = context.getStateStore(EnrichmentTopology.STATE_STORE);
    inFlight.clear();
    inFlightByContent.clear();
    deadlines.clear();
    try (KeyValueIterator<Windowed<String>, PendingEnrichment> it = entries.all()) {
      while (it.hasNext()) {
        var entry = it.next();
        if (entry.value.getCompletedAt() == null) {
          index(entry.value, entry.key.window().start());
        }
      }
    }
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
    String contentHash = accepted.getContentHash();
    String key = ImageIngestProcessor.contentKey(event.getTenant(), contentHash);
    String pendingKey = pendingKey(event.getTenant(), event.getEventId());
    long now = context.currentSystemTimeMs();
    if (inFlight.containsKey(pendingKey)) {
      deadLetter(record, DeadLetters.STAGE_JOIN, "DUPLICATE_EVENT",
          "event " + event.getEventId() + " is already being enriched", event.getEventId(), event.getTenant(), null);
      return;
    }
    List<TaskType> expected = requestedTasks(event.getTasks());
    if (repostEnabled) {
      PendingEnrichment earlier = latestComplete(event.getTenant(), contentHash, now);
      if (earlier != null) {
        emit(reused(cached(earlier), event.getEventId(), event.getImageId(), event.getEventTime(), now), record);
        return;
      }
      PendingEnrichment leader = inFlightLeader(key, event);
      if (leader != null) {
        // The same bytes with the same request are being enriched for this tenant: wait for that result
        // instead of running the models again. The fallback deadline lies past the first event's last
        // possible one (its retry included), so it only fires if that event's state is gone.
        PendingEnrichment waiter = pendingState(event, contentHash, expected,
            now + longestInFlightMs(deadlineMs, checkIntervalMs));
        waiter.setWaitsFor(leader.getEventId());
        write(waiter, now);
        metrics.recordJoin("repost_waited");
        return;
      }
    }
    long deadline = now + deadlineMs;
    PendingEnrichment state = pendingState(event, contentHash, expected, deadline);
    state.setEvent(event);
    write(state, now);
    for (TaskType task : expected) {
      route(taskRequest(event, contentHash, task, deadline, ""), key, record.timestamp());
    }
  }

  /** The in-flight event with these bytes that routed tasks for what {@code event} asks (tasks, labels, questions). */
  private PendingEnrichment inFlightLeader(String contentKey, ImageEvent event) {
    for (String pendingKey : inFlightByContent.getOrDefault(contentKey, Set.of())) {
      PendingEnrichment state = inFlight.get(pendingKey).state();
      if (state.getEvent() != null && state.getEvent().getTasks().equals(event.getTasks())) {
        return state;
      }
    }
    return null;
  }

  /** The latest complete enrichment of these bytes for this tenant within the repost retention, or null. */
  private PendingEnrichment latestComplete(String tenant, String contentHash, long now) {
    String contentKey = ImageIngestProcessor.contentKey(tenant, contentHash);
    long oldest = now - Math.max(repostRetentionMs, longestInFlightMs(deadlineMs, checkIntervalMs));
    PendingEnrichment latest = null;
    // Bounded by now, not by Long.MAX_VALUE: the window store derives its key range from both times, and an
    // open upper time widens it to nearly the whole store.
    try (KeyValueIterator<Windowed<String>, PendingEnrichment> it = entries.fetch(contentKey + STORE_KEY_SEPARATOR,
        contentKey + STORE_KEY_END, Math.max(0, oldest), now)) {
      while (it.hasNext()) {
        PendingEnrichment e = it.next().value;
        if (e.getCompletedAt() != null && e.getTenant().equals(tenant) && e.getContentHash().equals(contentHash)
            && e.getCompletedAt().toEpochMilli() >= now - repostRetentionMs
            && (latest == null || e.getCompletedAt().isAfter(latest.getCompletedAt()))) {
          latest = e;
        }
      }
    }
    return latest;
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
    Slot slot = inFlight.get(pendingKey(result.getTenant(), result.getEventId()));
    PendingEnrichment state = slot == null ? null : slot.state();
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
    } else if (!key.equals(slot.contentKey())) {
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
      finish(state, slot, record);
    } else {
      write(state, slot.acceptedAt());
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
    List<Slot> expired = new ArrayList<>();
    for (Slot slot : deadlines) {
      if (slot.deadline() > now) {
        break;
      }
      expired.add(slot);
    }
    for (Slot slot : expired) {
      PendingEnrichment state = slot.state();
      List<TaskType> unanswered = state.getExpected().stream()
          .filter(t -> state.getResults().stream().noneMatch(r -> r.getTask() == t)).toList();
      if (retryOnDeadline && state.getEvent() != null && state.getRetried().isEmpty() && !unanswered.isEmpty()) {
        retry(state, slot, unanswered, now);
      } else {
        finish(state, slot, new Record<>(null, null, now));
      }
    }
  }

  private void retry(PendingEnrichment state, Slot slot, List<TaskType> tasks, long now) {
    long deadline = now + deadlineMs;
    state.setDeadline(Instant.ofEpochMilli(deadline));
    state.setRetried(tasks);
    write(state, slot.acceptedAt());
    for (TaskType task : tasks) {
      route(taskRequest(state.getEvent(), state.getContentHash(), task, deadline, RETRY_SUFFIX), slot.contentKey(),
          now);
      metrics.recordJoin("retried");
    }
  }

  private void finish(PendingEnrichment state, Slot slot, Record<?, ?> cause) {
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
    if (repostEnabled && enriched.getComplete()) {
      // The entry stays as the repost cache: the results only, until the store's retention drops it.
      state.setResults(succeeded);
      state.setEvent(null);
      state.setCompletedAt(Instant.ofEpochMilli(now));
      write(state, slot.acceptedAt());
    } else {
      delete(slot);
    }
    List<Slot> waiters = repostEnabled && state.getWaitsFor() == null ? waitersOf(slot) : List.of();
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
    for (Slot waiter : waiters) {
      PendingEnrichment w = waiter.state();
      delete(waiter);
      emit(reused(enriched, w.getEventId(), w.getImageId(), w.getEventTime(), now), cause);
    }
  }

  /** The in-flight events with the bytes of {@code leader} that wait for its result. */
  private List<Slot> waitersOf(Slot leader) {
    List<Slot> waiters = new ArrayList<>();
    String leaderId = leader.pendingKey().substring(leader.pendingKey().indexOf('/') + 1);
    for (String pendingKey : inFlightByContent.getOrDefault(leader.contentKey(), Set.of())) {
      Slot slot = inFlight.get(pendingKey);
      if (leaderId.equals(slot.state().getWaitsFor())) {
        waiters.add(slot);
      }
    }
    return waiters;
  }

  private void write(PendingEnrichment state, long acceptedAt) {
    String storeKey = storeKey(state);
    entries.put(storeKey, state, acceptedAt);
    if (state.getCompletedAt() == null) {
      index(state, acceptedAt);
    } else {
      unindex(pendingKey(state.getTenant(), state.getEventId()));
    }
  }

  private void delete(Slot slot) {
    entries.put(slot.storeKey(), null, slot.acceptedAt());
    unindex(slot.pendingKey());
  }

  private void index(PendingEnrichment state, long acceptedAt) {
    String pendingKey = pendingKey(state.getTenant(), state.getEventId());
    String contentKey = ImageIngestProcessor.contentKey(state.getTenant(), state.getContentHash());
    Slot slot = new Slot(pendingKey, contentKey, storeKey(state), acceptedAt, state.getDeadline().toEpochMilli(),
        state);
    Slot old = inFlight.put(pendingKey, slot);
    if (old != null) {
      deadlines.remove(old);
    }
    deadlines.add(slot);
    inFlightByContent.computeIfAbsent(contentKey, k -> new LinkedHashSet<>()).add(pendingKey);
  }

  private void unindex(String pendingKey) {
    Slot old = inFlight.remove(pendingKey);
    if (old != null) {
      deadlines.remove(old);
      Set<String> same = inFlightByContent.get(old.contentKey());
      same.remove(pendingKey);
      if (same.isEmpty()) {
        inFlightByContent.remove(old.contentKey());
      }
    }
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

  /** The complete enrichment a cached entry stands for. */
  private static EnrichedImage cached(PendingEnrichment done) {
    return EnrichedImage.newBuilder()
        .setEventId(done.getEventId())
        .setImageId(done.getImageId())
        .setTenant(done.getTenant())
        .setEventTime(done.getEventTime())
        .setContentHash(done.getContentHash())
        .setResults(done.getResults())
        .setMissing(List.of())
        .setComplete(true)
        .setEnrichedAt(done.getCompletedAt())
        .build();
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

  /**
   * Entries of one tenant's bytes sort together ({@code tenant/contentHash|eventId}), so a range fetch finds
   * the reposts' cached results; the hash is hex, so the separator cannot occur before it.
   */
  private static final String STORE_KEY_SEPARATOR = "|";
  /** The character after the separator: the exclusive end of one content key's range. */
  private static final String STORE_KEY_END = "}";

  private static String storeKey(PendingEnrichment state) {
    return ImageIngestProcessor.contentKey(state.getTenant(), state.getContentHash()) + STORE_KEY_SEPARATOR
        + state.getEventId();
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

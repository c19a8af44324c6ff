package io.mmstream.worker;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.image.PixelImage;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskFailure;
import io.mmstream.schema.Timings;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes one kind's task topic and produces an answer per task, exactly once: a TaskResult per
 * TaskRequest for the image-task kinds, a ChatReply per ChatTask for chat ({@link TaskRecords}).
 *
 * <p>Pipeline: the poll thread admits records; a bounded CPU pool loads, decodes and prepares each
 * task; a {@link DynamicBatcher} groups prepared tasks; one {@link ModelExecutor} thread per device
 * runs batches. The poll thread alone owns the consumer and the transactional producer: as soon as
 * a batch finishes (at most once per commit interval) it takes, per partition, the longest run of
 * finished tasks from the oldest uncommitted offset, and writes their results (and dead letters) together with the next offsets in
 * one Kafka transaction. Nothing is produced outside that transaction, so a crash leaves neither a
 * committed result without its offset nor the reverse; the next owner redoes only uncommitted work.
 *
 * <p>Every answer is produced with the Kafka key of the task it answers (the stream app keys tasks
 * by tenant/contentHash, chat tasks by tenant/conversationId, and joins answers on that key); dead
 * letters are keyed by event id (a chat task's message id).
 *
 * <p>Backpressure: when admitted-but-uncommitted tasks reach {@code max.in.flight}, every assigned
 * partition is paused until the count falls to {@code resume.threshold}. On revocation the finished
 * prefix is committed and the rest of the revoked partitions' work is dropped (the new owner starts
 * from the committed offset). Offsets go through {@code sendOffsetsToTransaction} with the
 * consumer's group metadata, so a stale member is fenced by the group coordinator.
 */
public final class TaskWorker<Q, P, O> implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TaskWorker.class);

  private final WorkerSettings settings;
  private final List<WorkerModel<Q, P, O>> models;
  private final ModelInfo modelInfo;
  private final ImageLoader imageLoader;
  private final WorkerMetrics metrics;
  private final String topic;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final TaskRecords<Q, O> records;
  private final AvroSerde<DeadLetter> deadLetterSerde;
  private final ThreadPoolExecutor decodePool;
  private final DynamicBatcher<PendingTask<Q, P, O>> batcher;
  private final List<Thread> executorThreads = new ArrayList<>();
  private final Thread pollThread;
  private final CountDownLatch terminated = new CountDownLatch(1);
  /** Guards {@link #inPoll} and {@link #wakeupIssued}: executors wake the poll thread only while it polls. */
  private final Object wakeupLock = new Object();
  private boolean inPoll;
  private boolean wakeupIssued;

  // Owned by the poll thread.
  private final Map<TopicPartition, ArrayDeque<PendingTask<Q, P, O>>> partitions = new HashMap<>();
  private int inFlight;
  private boolean paused;
  /** Written by the poll thread; executors read it to wake the poll loop only when a commit may run. */
  private volatile long lastCommitNanos;
  private final ProgressLog progress;

  private volatile boolean running;
  private volatile boolean stopRequested;
  private volatile boolean crashAtNextCommit;
  private volatile boolean abandoned;
  private volatile Throwable failure;

  /**
   * @param models one loaded, warmed-up model per device, in the order of {@code devices}
   */
  public TaskWorker(
      WorkerSettings settings,
      List<? extends WorkerModel<Q, P, O>> models,
      List<String> devices,
      ImageLoader imageLoader,
      WorkerMetrics metrics) {
    if (models.isEmpty() || models.size() != devices.size()) {
      throw new IllegalArgumentException("need one model per device");
    }
    this.settings = settings;
    this.models = List.copyOf(models);
    this.modelInfo = models.get(0).info();
    this.imageLoader = imageLoader;
    this.metrics = metrics;
    this.topic = settings.kind().taskTopic();
    AvroSerdes serdes = AvroSerdes.from(settings.source());
    this.records = TaskRecords.forKind(settings.kind(), serdes);
    this.deadLetterSerde = serdes.deadLetter();
    int capacity = settings.maxInFlight() + settings.maxPollRecords();
    this.batcher = new DynamicBatcher<>(settings.batchMaxSize(), settings.batchMaxDelay(), settings.preferredBatchSizes(), capacity);
    AtomicInteger decodeThreadIndex = new AtomicInteger();
    this.decodePool =
        new ThreadPoolExecutor(
            settings.decodeThreads(),
            settings.decodeThreads(),
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(capacity),
            r -> daemon(r, "mmstream-decode-" + decodeThreadIndex.incrementAndGet()));
    for (int i = 0; i < models.size(); i++) {
      ModelExecutor<Q, P, O> executor = new ModelExecutor<>(devices.get(i), models.get(i), batcher, metrics, this::batchFinished);
      executorThreads.add(daemon(executor, "mmstream-executor-" + devices.get(i)));
    }
    this.consumer = new KafkaConsumer<>(consumerConfig(settings), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.producer = new KafkaProducer<>(producerConfig(settings), new ByteArraySerializer(), new ByteArraySerializer());
    this.pollThread = new Thread(this::pollLoop, "mmstream-poll-" + settings.kind().id());
    this.progress = new ProgressLog();
    metrics.gauge("mmstream.worker.batcher.queued", "Prepared tasks waiting for a batch", batcher::size);
  }

  /** The shared consumer settings (security, read_committed, no auto-commit) plus the worker's own. */
  static Properties consumerConfig(WorkerSettings settings) {
    Properties config = KafkaClientConfig.consumer(settings.source(), settings.groupId(), clientName(settings, "consumer"));
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords());
    config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) settings.sessionTimeout().toMillis());
    // Static membership: a restarted worker (same id) takes its partitions back at once, without a
    // rebalance and without waiting out its predecessor's session.
    config.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, settings.kind().id() + "-" + settings.workerId());
    // Heartbeats must come well within the session timeout; Kafka's default ratio is 1/15.
    config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.max(100, settings.sessionTimeout().toMillis() / 15));
    return config;
  }

  /** The shared producer settings (security, idempotence, acks=all) made transactional. */
  static Properties producerConfig(WorkerSettings settings) {
    Properties config = KafkaClientConfig.producer(settings.source(), clientName(settings, "producer"));
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.transactionalId());
    config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) settings.transactionTimeout().toMillis());
    return config;
  }

  private static String clientName(WorkerSettings settings, String role) {
    return "worker-" + settings.kind().id() + "-" + settings.workerId() + "-" + role;
  }

  private static Thread daemon(Runnable runnable, String name) {
    Thread thread = new Thread(runnable, name);
    thread.setDaemon(true);
    return thread;
  }

  public void start() {
    executorThreads.forEach(Thread::start);
    pollThread.start();
  }

  /** True while polling, with every executor thread alive. */
  public boolean isRunning() {
    return running && executorThreads.stream().allMatch(Thread::isAlive);
  }

  /** The error that stopped the worker, or null. */
  public Throwable failure() {
    return failure;
  }

  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return terminated.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Graceful stop: admits nothing more, waits up to {@code shutdown.timeout.ms} for in-flight tasks,
   * commits them, and drops whatever is still unfinished uncommitted (the next owner redoes it).
   */
  @Override
  public void close() {
    stopRequested = true;
    try {
      terminated.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Stops the way a killed process would, for testing the exactly-once guarantee: at the next commit
   * the results and offsets are sent and flushed into an open transaction that is never committed
   * or aborted, and the clients are dropped without leaving the group.
   */
  public void crashDuringNextCommit() {
    crashAtNextCommit = true;
  }

  private void pollLoop() {
    try {
      producer.initTransactions();
      consumer.subscribe(List.of(topic), new Rebalance());
      running = true;
      lastCommitNanos = System.nanoTime();
      while (!stopRequested) {
        for (ConsumerRecord<byte[], byte[]> record : poll()) {
          admit(record);
        }
        commitCompleted(false, true);
        applyBackpressure();
        progress.maybeLog();
      }
      drainForShutdown();
      clearPendingWakeup();
      // A static member stays in the group after a plain close; a worker that stops on purpose leaves, so
      // its partitions move at once instead of after the session timeout.
      consumer.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
      producer.close();
      LOG.info("{} worker stopped; {} tasks committed in all", settings.kind().id(), metrics.tasksCommitted());
    } catch (SimulatedCrash crash) {
      abandoned = true;
      LOG.warn("{} worker crashed on request: transaction left open, clients dropped", settings.kind().id());
      producer.close(Duration.ZERO);
      closeAbandoned(
          CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP).withTimeout(Duration.ZERO));
    } catch (Throwable error) {
      failure = error;
      abandoned = true;
      if (error instanceof FencedInstanceIdException) {
        LOG.error("another {} worker joined with this worker's id {}: give each worker its own {}", settings.kind().id(),
            settings.workerId(), WorkerSettings.WORKER_ID.key());
      }
      LOG.error("{} worker failed; stopping without committing in-flight work", settings.kind().id(), error);
      producer.close(Duration.ZERO);
      closeAbandoned(CloseOptions.timeout(Duration.ZERO));
    } finally {
      running = false;
      stopPipeline();
      terminated.countDown();
    }
  }

  /**
   * Polls; an executor that finishes a batch meanwhile cuts the poll short, so its answers are
   * committed at once rather than after the rest of the poll timeout.
   */
  private ConsumerRecords<byte[], byte[]> poll() {
    synchronized (wakeupLock) {
      inPoll = true;
    }
    try {
      return consumer.poll(settings.pollTimeout());
    } catch (WakeupException e) {
      synchronized (wakeupLock) {
        wakeupIssued = false;
      }
      return ConsumerRecords.empty();
    } finally {
      synchronized (wakeupLock) {
        inPoll = false;
      }
    }
  }

  /** Runs on an executor thread after each batch. */
  private void batchFinished() {
    if (System.nanoTime() - lastCommitNanos < settings.commitInterval().toNanos()) {
      return; // no commit may run yet; the loop's next turn after the interval takes these answers
    }
    synchronized (wakeupLock) {
      if (inPoll) {
        wakeupIssued = true;
        consumer.wakeup();
      }
    }
  }

  /** A wakeup that came just as a poll returned would surface in the next blocking call: take it now. */
  private void clearPendingWakeup() {
    boolean pending;
    synchronized (wakeupLock) {
      pending = wakeupIssued;
      wakeupIssued = false;
    }
    if (pending) {
      try {
        consumer.poll(Duration.ZERO);
      } catch (WakeupException expected) {
        // the one left over
      }
    }
  }

  /**
   * Closes the consumer of a worker that stops without its orderly drain: a wakeup an executor sent
   * as the last poll returned may surface in close, after the consumer has closed all the same.
   */
  private void closeAbandoned(CloseOptions options) {
    try {
      consumer.close(options);
    } catch (WakeupException pendingWakeup) {
      LOG.debug("consumer closed; a pending wakeup surfaced in close");
    } catch (KafkaException e) {
      if (!(e.getCause() instanceof WakeupException)) {
        throw e;
      }
      LOG.debug("consumer closed; a pending wakeup surfaced in close");
    }
  }

  private void stopPipeline() {
    partitions.values().forEach(tasks -> tasks.forEach(PendingTask::cancel));
    batcher.close();
    decodePool.shutdownNow();
    for (Thread thread : executorThreads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void admit(ConsumerRecord<byte[], byte[]> record) {
    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
    ArrayDeque<PendingTask<Q, P, O>> queue = partitions.get(partition);
    if (queue == null) {
      return; // a record fetched before its partition was revoked
    }
    PendingTask<Q, P, O> task = new PendingTask<>(partition, record.offset(), record.timestamp(), record.key(), record.value());
    queue.addLast(task);
    inFlight++;
    task.fetchNanos = TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis() - record.timestamp());
    try {
      task.request = records.decode(record.value());
    } catch (MessageDecodeException e) {
      task.fail("deserialize", e.reasonCode(), "not a " + records.recordName() + ": " + e.getMessage(), 0);
      return;
    }
    task.taskId = records.taskId(task.request);
    task.deadlineMs = records.deadlineMs(task.request);
    String misrouted = records.misrouted(task.request);
    if (misrouted != null) {
      task.fail("validate", "WRONG_TASK_TYPE", misrouted, 0);
    } else if (task.deadlinePassed(System.currentTimeMillis())) {
      task.fail("deadline", "DEADLINE_EXCEEDED", "deadline " + Instant.ofEpochMilli(task.deadlineMs) + " passed before the task was read", 0);
    } else {
      batcher.announce();
      decodePool.execute(() -> preprocess(task));
    }
  }

  /** Runs on the CPU pool. */
  private void preprocess(PendingTask<Q, P, O> task) {
    if (task.isCancelled()) {
      batcher.withdraw();
      return;
    }
    long start = System.nanoTime();
    task.preprocessStartNanos = start;
    try {
      PixelImage image = records.loadImage(task.request, imageLoader);
      task.prepared = models.get(0).prepare(task.request, image);
      task.preprocessNanos = System.nanoTime() - start;
      metrics.recordPreprocess(task.preprocessNanos);
      batcher.putAnnounced(task);
    } catch (TaskRejectedException e) {
      batcher.withdraw();
      task.fail(e.stage(), e.reasonCode(), e.getMessage(), 0);
    } catch (InterruptedException e) {
      batcher.withdraw();
      Thread.currentThread().interrupt();
    } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
      batcher.withdraw();
      // A task left unfinished would hold back its partition's commits for good: fail it instead.
      LOG.warn("preparing task {} failed", task.taskId, e);
      task.fail("model", "PREPROCESS_ERROR", e.toString(), 0);
    }
  }

  private void applyBackpressure() {
    if (!paused && inFlight >= settings.maxInFlight()) {
      consumer.pause(consumer.assignment());
      paused = true;
      metrics.recordPause();
      LOG.debug("paused {} partitions at {} tasks in flight", consumer.assignment().size(), inFlight);
    } else if (paused && inFlight <= settings.resumeThreshold() && !stopRequested) {
      consumer.resume(consumer.paused());
      paused = false;
      LOG.debug("resumed at {} tasks in flight", inFlight);
    }
    metrics.setInFlight(inFlight);
    metrics.setPausedPartitions(consumer.paused().size());
  }

  private void drainForShutdown() {
    consumer.pause(consumer.assignment());
    paused = true;
    long deadline = System.nanoTime() + settings.shutdownTimeout().toNanos();
    LOG.info("{} worker stopping: finishing {} in-flight tasks", settings.kind().id(), inFlight);
    while (inFlight > 0 && System.nanoTime() < deadline) {
      poll(); // keeps the membership; paused partitions return nothing
      commitCompleted(true, false);
    }
    commitCompleted(true, false);
    if (inFlight > 0) {
      LOG.warn("shutdown timeout: {} unfinished tasks left uncommitted for the next owner", inFlight);
    }
  }

  /**
   * Commits, in one transaction, the finished prefix of every partition: their results and dead
   * letters plus the offset after the last of them. Answers are committed as soon as they are
   * there, in at most one transaction per commit interval: a fixed tick would hold every answer
   * for half an interval on average. A failed transaction is aborted and retried with the same
   * tasks at the next commit; a fenced producer stops the worker.
   */
  private void commitCompleted(boolean force, boolean mayCrash) {
    long now = System.nanoTime();
    if (!force && now - lastCommitNanos < settings.commitInterval().toNanos()) {
      return;
    }
    List<PendingTask<Q, P, O>> done = new ArrayList<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    Map<TopicPartition, Integer> counts = new HashMap<>();
    for (Map.Entry<TopicPartition, ArrayDeque<PendingTask<Q, P, O>>> entry : partitions.entrySet()) {
      int count = 0;
      long next = -1;
      for (PendingTask<Q, P, O> task : entry.getValue()) {
        if (!task.isDone()) {
          break;
        }
        done.add(task);
        count++;
        next = task.offset + 1;
      }
      if (count > 0) {
        counts.put(entry.getKey(), count);
        offsets.put(entry.getKey(), new OffsetAndMetadata(next));
      }
    }
    if (done.isEmpty()) {
      return;
    }
    lastCommitNanos = now;
    long producedAt = System.currentTimeMillis();
    try {
      producer.beginTransaction();
      for (PendingTask<Q, P, O> task : done) {
        send(task, producedAt);
      }
      producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
      if (mayCrash && crashAtNextCommit) {
        producer.flush();
        throw new SimulatedCrash();
      }
      producer.commitTransaction();
    } catch (ProducerFencedException
        | FencedInstanceIdException
        | OutOfOrderSequenceException
        | UnsupportedVersionException
        | AuthorizationException fatal) {
      throw fatal;
    } catch (KafkaException e) {
      LOG.warn("transaction of {} results aborted, retrying at the next commit: {}", done.size(), e.toString());
      producer.abortTransaction();
      metrics.recordTransaction(false);
      return;
    }
    metrics.recordTransaction(true);
    recordStages(done, now, System.nanoTime());
    counts.forEach((partition, count) -> {
      ArrayDeque<PendingTask<Q, P, O>> queue = partitions.get(partition);
      for (int i = 0; i < count; i++) {
        queue.pollFirst();
      }
    });
    inFlight -= done.size();
    for (PendingTask<Q, P, O> task : done) {
      PendingTask.Outcome<O> outcome = task.outcome();
      boolean dropped = isDropped(outcome);
      metrics.recordCommitted(outcome, dropped, Duration.ofMillis(producedAt - task.recordTimestampMs));
      if (deadLettered(task, outcome)) {
        metrics.recordDeadLetter(outcome.failureStage(), outcome.reasonCode());
      }
    }
  }

  private void recordStages(List<PendingTask<Q, P, O>> committed, long commitStart, long commitEnd) {
    LatencyBreakdown stages = metrics.latencyBreakdown();
    for (PendingTask<Q, P, O> task : committed) {
      PendingTask.Outcome<O> outcome = task.outcome();
      if (outcome.failed()) {
        continue;
      }
      stages.record(LatencyBreakdown.Stage.FETCH, task.fetchNanos);
      stages.record(LatencyBreakdown.Stage.DECODE_QUEUE, task.preprocessStartNanos - task.admittedNanos);
      stages.record(LatencyBreakdown.Stage.PREPROCESS, task.preprocessNanos);
      stages.record(LatencyBreakdown.Stage.DEVICE_BUSY, task.deviceBusyNanos);
      stages.record(LatencyBreakdown.Stage.BATCH_FILL, task.batchFillNanos);
      stages.record(LatencyBreakdown.Stage.MODEL, outcome.computeNanos());
      stages.record(LatencyBreakdown.Stage.COMMIT_WAIT, commitStart - outcome.completedNanos());
      stages.record(LatencyBreakdown.Stage.COMMIT, commitEnd - commitStart);
      stages.record(LatencyBreakdown.Stage.WORKER_TOTAL, commitEnd - task.admittedNanos);
    }
  }

  private boolean isDropped(PendingTask.Outcome<O> outcome) {
    return "DEADLINE_EXCEEDED".equals(outcome.reasonCode())
        && settings.deadlinePolicy() == WorkerSettings.DeadlinePolicy.DROP;
  }

  /**
   * A failure is dead-lettered here when no answer can carry it (the record is no task), or when the
   * settings ask for one dead letter per task; otherwise the stream app writes one per cause from the
   * failed answers.
   */
  private boolean deadLettered(PendingTask<Q, P, O> task, PendingTask.Outcome<O> outcome) {
    return outcome.failed() && (task.request == null || settings.deadLetterTaskFailures() && !isDropped(outcome));
  }

  private void send(PendingTask<Q, P, O> task, long producedAt) {
    PendingTask.Outcome<O> outcome = task.outcome();
    if (task.request != null) {
      // The request's own key: the stream app joins answers to their image or conversation on it.
      producer.send(new ProducerRecord<>(records.resultTopic(), task.key, answer(task, outcome, producedAt)));
    }
    if (deadLettered(task, outcome)) {
      byte[] eventId = task.request == null ? null : records.eventId(task.request).getBytes(StandardCharsets.UTF_8);
      producer.send(new ProducerRecord<>(Topics.DLQ, eventId,
          deadLetterSerde.serialize(Topics.DLQ, deadLetter(task, outcome, producedAt))));
    }
  }

  private byte[] answer(PendingTask<Q, P, O> task, PendingTask.Outcome<O> outcome, long producedAt) {
    Timings timings = Timings.newBuilder()
        .setQueueMs(TimeUnit.NANOSECONDS.toMillis(outcome.queueNanos()))
        .setPreprocessMs(TimeUnit.NANOSECONDS.toMillis(task.preprocessNanos))
        .setComputeMs(TimeUnit.NANOSECONDS.toMillis(outcome.computeNanos()))
        .setTotalMs(TimeUnit.NANOSECONDS.toMillis(outcome.completedNanos() - task.admittedNanos))
        .build();
    TaskRecords.AnswerContext context = new TaskRecords.AnswerContext(
        modelInfo, timings, settings.workerId(), Math.max(1, outcome.batchSize()), Instant.ofEpochMilli(producedAt));
    return outcome.failed()
        ? records.encodeAnswer(task.request, null, new TaskFailure(outcome.reasonCode(), outcome.message(), outcome.failureStage()), context)
        : records.encodeAnswer(task.request, outcome.outputs(), null, context);
  }

  private DeadLetter deadLetter(PendingTask<Q, P, O> task, PendingTask.Outcome<O> outcome, long producedAt) {
    byte[] original = task.value;
    boolean keepOriginal = original != null && original.length <= settings.deadLetterOriginalMaxBytes();
    byte[] key = task.key;
    Q request = task.request;
    return DeadLetter.newBuilder()
        .setStage(outcome.failureStage())
        .setReasonCode(outcome.reasonCode())
        .setMessage(outcome.message())
        .setOriginalBytes(keepOriginal ? ByteBuffer.wrap(original) : null)
        .setOriginalKey(key == null || key.length > settings.deadLetterOriginalMaxBytes() ? null : ByteBuffer.wrap(key))
        .setOriginalTopic(task.partition.topic())
        .setOriginalPartition(task.partition.partition())
        .setOriginalOffset(task.offset)
        .setEventId(request != null ? records.eventId(request) : null)
        .setTaskId(request != null ? task.taskId : null)
        .setTenant(request != null ? records.tenant(request) : null)
        .setApplication("mmstream-worker-" + settings.kind().id())
        .setFailedAt(Instant.ofEpochMilli(producedAt))
        .build();
  }

  private void dropPartitions(Collection<TopicPartition> revoked, String why) {
    for (TopicPartition partition : revoked) {
      ArrayDeque<PendingTask<Q, P, O>> tasks = partitions.remove(partition);
      if (tasks == null) {
        continue;
      }
      tasks.forEach(PendingTask::cancel);
      inFlight -= tasks.size();
      if (!tasks.isEmpty()) {
        LOG.info("partition {} {}: {} uncommitted tasks dropped for the next owner", partition, why, tasks.size());
      }
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
      if (abandoned || revoked.isEmpty()) {
        return;
      }
      commitCompleted(true, false);
      dropPartitions(revoked, "revoked");
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
      if (!abandoned) {
        dropPartitions(lost, "lost");
      }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
      for (TopicPartition partition : assigned) {
        partitions.putIfAbsent(partition, new ArrayDeque<>());
      }
      if (paused) {
        consumer.pause(assigned);
      }
      if (!assigned.isEmpty()) {
        LOG.info("assigned {}", assigned);
      }
    }
  }

  /** The periodic one-line progress report. */
  private final class ProgressLog {
    private long lastNanos = System.nanoTime();
    private long lastCommitted;

    void maybeLog() {
      long now = System.nanoTime();
      long elapsed = now - lastNanos;
      if (elapsed < settings.progressInterval().toNanos()) {
        return;
      }
      long committed = metrics.tasksCommitted();
      double perSecond = (committed - lastCommitted) * 1e9 / elapsed;
      metrics.setItemsPerSecond(perSecond);
      if (committed != lastCommitted || inFlight > 0) {
        LOG.info(
            "{}: {} tasks committed (+{}, {} /s), {} failed, {} in flight, {} of {} partitions paused, {} queued for a batch",
            settings.kind().id(),
            committed,
            committed - lastCommitted,
            String.format("%.1f", perSecond),
            metrics.tasksFailed(),
            inFlight,
            consumer.paused().size(),
            consumer.assignment().size(),
            batcher.size());
      }
      lastNanos = now;
      lastCommitted = committed;
    }
  }

  /** Thrown inside the commit path by {@link #crashDuringNextCommit()}. */
  private static final class SimulatedCrash extends RuntimeException {
    SimulatedCrash() {
      super("simulated crash", null, false, false);
    }
  }
}

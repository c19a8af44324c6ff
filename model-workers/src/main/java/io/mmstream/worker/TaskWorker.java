package io.mmstream.worker;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.image.PixelImage;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskFailure;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
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
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes one kind's task topic and produces a TaskResult per task, exactly once.
 *
 * <p>Pipeline: the poll thread admits records; a bounded CPU pool loads, decodes and prepares each
 * task; a {@link DynamicBatcher} groups prepared tasks; one {@link ModelExecutor} thread per device
 * runs batches. The poll thread alone owns the consumer and the transactional producer: every
 * commit interval it takes, per partition, the longest run of finished tasks from the oldest
 * uncommitted offset, and writes their results (and dead letters) together with the next offsets in
 * one Kafka transaction. Nothing is produced outside that transaction, so a crash leaves neither a
 * committed result without its offset nor the reverse; the next owner redoes only uncommitted work.
 *
 * <p>Every TaskResult is produced with the Kafka key of the TaskRequest it answers (the stream app
 * keys tasks by tenant/contentHash and joins results on that key); dead letters are keyed by event
 * id.
 *
 * <p>Backpressure: when admitted-but-uncommitted tasks reach {@code max.in.flight}, every assigned
 * partition is paused until the count falls to {@code resume.threshold}. On revocation the finished
 * prefix is committed and the rest of the revoked partitions' work is dropped (the new owner starts
 * from the committed offset). Offsets go through {@code sendOffsetsToTransaction} with the
 * consumer's group metadata, so a stale member is fenced by the group coordinator.
 */
public final class TaskWorker<P> implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TaskWorker.class);

  private final WorkerSettings settings;
  private final List<TaskModel<P>> models;
  private final ModelInfo modelInfo;
  private final ImageLoader imageLoader;
  private final WorkerMetrics metrics;
  private final String topic;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final AvroSerde<TaskRequest> requestSerde;
  private final AvroSerde<TaskResult> resultSerde;
  private final AvroSerde<DeadLetter> deadLetterSerde;
  private final ThreadPoolExecutor decodePool;
  private final DynamicBatcher<PendingTask<P>> batcher;
  private final List<Thread> executorThreads = new ArrayList<>();
  private final Thread pollThread;
  private final CountDownLatch terminated = new CountDownLatch(1);

  // Owned by the poll thread.
  private final Map<TopicPartition, ArrayDeque<PendingTask<P>>> partitions = new HashMap<>();
  private int inFlight;
  private boolean paused;
  private long lastCommitNanos;
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
      WorkerSettings settings, List<TaskModel<P>> models, List<String> devices, ImageLoader imageLoader, WorkerMetrics metrics) {
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
    this.requestSerde = serdes.taskRequest();
    this.resultSerde = serdes.taskResult();
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
      ModelExecutor<P> executor = new ModelExecutor<>(devices.get(i), models.get(i), batcher, metrics);
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
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(settings.pollTimeout())) {
          admit(record);
        }
        commitCompleted(false, true);
        applyBackpressure();
        progress.maybeLog();
      }
      drainForShutdown();
      consumer.close();
      producer.close();
      LOG.info("{} worker stopped; {} tasks committed in all", settings.kind().id(), metrics.tasksCommitted());
    } catch (SimulatedCrash crash) {
      abandoned = true;
      LOG.warn("{} worker crashed on request: transaction left open, clients dropped", settings.kind().id());
      producer.close(Duration.ZERO);
      consumer.close(
          CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP).withTimeout(Duration.ZERO));
    } catch (Throwable error) {
      failure = error;
      abandoned = true;
      LOG.error("{} worker failed; stopping without committing in-flight work", settings.kind().id(), error);
      producer.close(Duration.ZERO);
      consumer.close(CloseOptions.timeout(Duration.ZERO));
    } finally {
      running = false;
      stopPipeline();
      terminated.countDown();
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
    ArrayDeque<PendingTask<P>> queue = partitions.get(partition);
    if (queue == null) {
      return; // a record fetched before its partition was revoked
    }
    PendingTask<P> task = new PendingTask<>(partition, record.offset(), record.timestamp(), record.key(), record.value());
    queue.addLast(task);
    inFlight++;
    try {
      task.request = requestSerde.decode(record.value());
    } catch (MessageDecodeException e) {
      task.fail("deserialize", e.reasonCode(), "not a TaskRequest: " + e.getMessage(), 0);
      return;
    }
    if (task.request.getTask() != settings.kind().taskType()) {
      task.fail("validate", "WRONG_TASK_TYPE", task.request.getTask() + " task on the " + topic + " topic", 0);
    } else if (task.deadlinePassed(System.currentTimeMillis())) {
      task.fail("deadline", "DEADLINE_EXCEEDED", "deadline " + task.request.getDeadline() + " passed before the task was read", 0);
    } else {
      decodePool.execute(() -> preprocess(task));
    }
  }

  /** Runs on the CPU pool. */
  private void preprocess(PendingTask<P> task) {
    if (task.isCancelled()) {
      return;
    }
    long start = System.nanoTime();
    try {
      PixelImage image = imageLoader.load(task.request);
      task.prepared = models.get(0).prepare(task.request, image);
      task.preprocessNanos = System.nanoTime() - start;
      metrics.recordPreprocess(task.preprocessNanos);
      batcher.put(task);
    } catch (TaskRejectedException e) {
      task.fail(e.stage(), e.reasonCode(), e.getMessage(), 0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
      // A task left unfinished would hold back its partition's commits for good: fail it instead.
      LOG.warn("preparing task {} failed", task.request.getTaskId(), e);
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
      consumer.poll(settings.pollTimeout()); // keeps the membership; paused partitions return nothing
      commitCompleted(true, false);
    }
    commitCompleted(true, false);
    if (inFlight > 0) {
      LOG.warn("shutdown timeout: {} unfinished tasks left uncommitted for the next owner", inFlight);
    }
  }

  /**
   * Commits, in one transaction, the finished prefix of every partition: their results and dead
   * letters plus the offset after the last of them. A failed transaction is aborted and retried
   * with the same tasks at the next commit; a fenced producer stops the worker.
   */
  private void commitCompleted(boolean force, boolean mayCrash) {
    long now = System.nanoTime();
    if (!force && now - lastCommitNanos < settings.commitInterval().toNanos()) {
      return;
    }
    lastCommitNanos = now;
    List<PendingTask<P>> done = new ArrayList<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    Map<TopicPartition, Integer> counts = new HashMap<>();
    for (Map.Entry<TopicPartition, ArrayDeque<PendingTask<P>>> entry : partitions.entrySet()) {
      int count = 0;
      long next = -1;
      for (PendingTask<P> task : entry.getValue()) {
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
    long producedAt = System.currentTimeMillis();
    try {
      producer.beginTransaction();
      for (PendingTask<P> task : done) {
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
    counts.forEach((partition, count) -> {
      ArrayDeque<PendingTask<P>> queue = partitions.get(partition);
      for (int i = 0; i < count; i++) {
        queue.pollFirst();
      }
    });
    inFlight -= done.size();
    for (PendingTask<P> task : done) {
      PendingTask.Outcome outcome = task.outcome();
      boolean dropped = isDropped(outcome);
      metrics.recordCommitted(outcome, dropped, Duration.ofMillis(producedAt - task.recordTimestampMs));
      if (outcome.failed() && !dropped) {
        metrics.recordDeadLetter(outcome.failureStage(), outcome.reasonCode());
      }
    }
  }

  private boolean isDropped(PendingTask.Outcome outcome) {
    return "DEADLINE_EXCEEDED".equals(outcome.reasonCode())
        && settings.deadlinePolicy() == WorkerSettings.DeadlinePolicy.DROP;
  }

  private void send(PendingTask<P> task, long producedAt) {
    PendingTask.Outcome outcome = task.outcome();
    if (task.request != null) {
      // The request's own key: the stream app joins results to their image on it.
      producer.send(new ProducerRecord<>(Topics.RESULTS, task.key, resultSerde.encode(result(task, outcome, producedAt))));
    }
    if (outcome.failed() && !isDropped(outcome)) {
      byte[] eventId = task.request == null ? null : task.request.getEventId().getBytes(StandardCharsets.UTF_8);
      producer.send(new ProducerRecord<>(Topics.DLQ, eventId,
          deadLetterSerde.serialize(Topics.DLQ, deadLetter(task, outcome, producedAt))));
    }
  }

  private TaskResult result(PendingTask<P> task, PendingTask.Outcome outcome, long producedAt) {
    TaskRequest request = task.request;
    return TaskResult.newBuilder()
        .setTaskId(request.getTaskId())
        .setEventId(request.getEventId())
        .setImageId(request.getImageId())
        .setTenant(request.getTenant())
        .setTask(request.getTask())
        .setModel(modelInfo)
        .setOutputs(outcome.failed() ? TaskOutputs.newBuilder().build() : outcome.outputs())
        .setFailure(outcome.failed() ? new TaskFailure(outcome.reasonCode(), outcome.message()) : null)
        .setTimings(
            Timings.newBuilder()
                .setQueueMs(TimeUnit.NANOSECONDS.toMillis(outcome.queueNanos()))
                .setPreprocessMs(TimeUnit.NANOSECONDS.toMillis(task.preprocessNanos))
                .setComputeMs(TimeUnit.NANOSECONDS.toMillis(outcome.computeNanos()))
                .setTotalMs(TimeUnit.NANOSECONDS.toMillis(outcome.completedNanos() - task.admittedNanos))
                .build())
        .setWorkerId(settings.workerId())
        .setBatchSize(Math.max(1, outcome.batchSize()))
        .setProducedAt(Instant.ofEpochMilli(producedAt))
        .build();
  }

  private DeadLetter deadLetter(PendingTask<P> task, PendingTask.Outcome outcome, long producedAt) {
    byte[] original = task.value;
    boolean keepOriginal = original != null && original.length <= settings.deadLetterOriginalMaxBytes();
    byte[] key = task.key;
    TaskRequest request = task.request;
    return DeadLetter.newBuilder()
        .setStage(outcome.failureStage())
        .setReasonCode(outcome.reasonCode())
        .setMessage(outcome.message())
        .setOriginalBytes(keepOriginal ? ByteBuffer.wrap(original) : null)
        .setOriginalKey(key == null || key.length > settings.deadLetterOriginalMaxBytes() ? null : ByteBuffer.wrap(key))
        .setOriginalTopic(task.partition.topic())
        .setOriginalPartition(task.partition.partition())
        .setOriginalOffset(task.offset)
        .setEventId(request != null ? request.getEventId() : null)
        .setTaskId(request != null ? request.getTaskId() : null)
        .setTenant(request != null ? request.getTenant() : null)
        .setApplication("mmstream-worker-" + settings.kind().id())
        .setFailedAt(Instant.ofEpochMilli(producedAt))
        .build();
  }

  private void dropPartitions(Collection<TopicPartition> revoked, String why) {
    for (TopicPartition partition : revoked) {
      ArrayDeque<PendingTask<P>> tasks = partitions.remove(partition);
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

package io.mmstream.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The worker's meters, all named {@code mmstream_worker_*} in Prometheus form and tagged with the
 * model kind, model name and device. Per-batch meters carry the executor's own device (cpu, gpu0,
 * ...); process-wide ones carry the device list.
 */
public final class WorkerMetrics {
  private static final double[] BATCH_SIZE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128};

  private final PrometheusMeterRegistry registry;
  private final Tags processTags;
  private final Counter tasksOk;
  private final Counter tasksFailed;
  private final Counter tasksDropped;
  private final Counter transactionsCommitted;
  private final Counter transactionsAborted;
  private final Counter batchSplits;
  private final Counter pauses;
  private final Timer taskLatency;
  private final Timer preprocess;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger pausedPartitions = new AtomicInteger();
  private final AtomicInteger ready = new AtomicInteger();
  private final AtomicLong itemsPerSecondMilli = new AtomicLong();
  private final LatencyBreakdown latencyBreakdown = new LatencyBreakdown();

  public WorkerMetrics(ModelKind kind, String modelName, String devices) {
    this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), kind, modelName, devices);
  }

  public WorkerMetrics(PrometheusMeterRegistry registry, ModelKind kind, String modelName, String devices) {
    this.registry = registry;
    this.processTags = Tags.of("kind", kind.id(), "model", modelName, "device", devices);
    tasksOk = tasks("ok");
    tasksFailed = tasks("failed");
    tasksDropped = tasks("dropped");
    transactionsCommitted = transactions("committed");
    transactionsAborted = transactions("aborted");
    batchSplits =
        Counter.builder("mmstream.worker.batch.splits")
            .description("Failed batches split in two to isolate the failing item")
            .tags(processTags)
            .register(registry);
    pauses =
        Counter.builder("mmstream.worker.pauses")
            .description("Times the assigned partitions were paused because in-flight work reached its bound")
            .tags(processTags)
            .register(registry);
    taskLatency =
        Timer.builder("mmstream.worker.task.latency")
            .description("From the task record's timestamp to the commit of its result")
            .tags(processTags)
            .publishPercentileHistogram()
            .register(registry);
    preprocess =
        Timer.builder("mmstream.worker.preprocess")
            .description("Image load, decode and model preprocessing per task")
            .tags(processTags)
            .publishPercentileHistogram()
            .register(registry);
    Gauge.builder("mmstream.worker.in.flight", inFlight, AtomicInteger::get)
        .description("Tasks admitted and not yet committed")
        .tags(processTags)
        .register(registry);
    Gauge.builder("mmstream.worker.paused.partitions", pausedPartitions, AtomicInteger::get)
        .description("Assigned partitions paused by backpressure")
        .tags(processTags)
        .register(registry);
    Gauge.builder("mmstream.worker.ready", ready, AtomicInteger::get)
        .description("1 once the model is loaded and warmed up and the consumer runs")
        .tags(processTags)
        .register(registry);
    Gauge.builder("mmstream.worker.items.per.second", itemsPerSecondMilli, v -> v.get() / 1000.0)
        .description("Tasks committed per second over the last progress interval")
        .tags(processTags)
        .register(registry);
  }

  private Counter tasks(String outcome) {
    return Counter.builder("mmstream.worker.tasks")
        .description("Tasks committed, by outcome (ok, failed, dropped)")
        .tags(processTags)
        .tag("outcome", outcome)
        .register(registry);
  }

  private Counter transactions(String outcome) {
    return Counter.builder("mmstream.worker.transactions")
        .description("Kafka transactions, by outcome")
        .tags(processTags)
        .tag("outcome", outcome)
        .register(registry);
  }

  /** Seconds the devices have spent running batches so far, all executors together. */
  public double deviceBusySeconds() {
    return registry.find("mmstream.worker.batch.compute").timers().stream().mapToDouble(t -> t.totalTime(TimeUnit.SECONDS)).sum();
  }

  /** Per-stage latency of answered tasks, for the benchmark's breakdown. */
  public LatencyBreakdown latencyBreakdown() {
    return latencyBreakdown;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Memory in use on one device (for the dashboard's device-memory panel). */
  public void deviceMemory(String device, Supplier<Number> usedBytes) {
    Gauge.builder("mmstream.worker.device.memory.used", usedBytes)
        .description("Memory in use on the device: GPU memory, or the process's resident memory on CPU")
        .baseUnit("bytes")
        .tags(processTags)
        .tag("device", device)
        .register(registry);
  }

  /** Meters of one executor (one device). */
  public ExecutorMeters executor(String device) {
    Tags tags = processTags.and("device", device);
    return new ExecutorMeters(
        DistributionSummary.builder("mmstream.worker.batch.size")
            .description("Items per model batch")
            .tags(tags)
            .serviceLevelObjectives(BATCH_SIZE_BUCKETS)
            .register(registry),
        Timer.builder("mmstream.worker.queue.wait")
            .description("Time an item waited in the batcher")
            .tags(tags)
            .publishPercentileHistogram()
            .register(registry),
        Timer.builder("mmstream.worker.batch.compute")
            .description("Model execution time per batch")
            .tags(tags)
            .publishPercentileHistogram()
            .register(registry));
  }

  /** Per-device batch meters. */
  public record ExecutorMeters(DistributionSummary batchSize, Timer queueWait, Timer batchCompute) {
    void recordBatch(int size, long computeNanos) {
      batchSize.record(size);
      batchCompute.record(computeNanos, TimeUnit.NANOSECONDS);
    }

    void recordQueueWait(long nanos) {
      queueWait.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  void recordBatchSplit() {
    batchSplits.increment();
  }

  void recordPause() {
    pauses.increment();
  }

  void recordPreprocess(long nanos) {
    preprocess.record(nanos, TimeUnit.NANOSECONDS);
  }

  void recordCommitted(PendingTask.Outcome outcome, boolean dropped, Duration latency) {
    if (dropped) {
      tasksDropped.increment();
    } else if (outcome.failed()) {
      tasksFailed.increment();
    } else {
      tasksOk.increment();
    }
    taskLatency.record(latency.isNegative() ? Duration.ZERO : latency);
  }

  void recordDeadLetter(String stage, String reasonCode) {
    Counter.builder("mmstream.worker.dlq")
        .description("Tasks sent to the dead-letter topic, by reason")
        .tags(processTags)
        .tag("stage", stage)
        .tag("reason", reasonCode)
        .register(registry)
        .increment();
  }

  void recordTransaction(boolean committed) {
    (committed ? transactionsCommitted : transactionsAborted).increment();
  }

  void setInFlight(int value) {
    inFlight.set(value);
  }

  void setPausedPartitions(int value) {
    pausedPartitions.set(value);
  }

  void setItemsPerSecond(double value) {
    itemsPerSecondMilli.set(Math.round(value * 1000));
  }

  public void setReady(boolean isReady) {
    ready.set(isReady ? 1 : 0);
  }

  /** Total tasks committed so far (all outcomes). */
  public long tasksCommitted() {
    return (long) (tasksOk.count() + tasksFailed.count() + tasksDropped.count());
  }

  long tasksFailed() {
    return (long) (tasksFailed.count() + tasksDropped.count());
  }

  public String scrape() {
    return registry.scrape();
  }

  /** Registers a gauge whose value is read on each scrape. */
  void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).tags(processTags).register(registry);
  }
}

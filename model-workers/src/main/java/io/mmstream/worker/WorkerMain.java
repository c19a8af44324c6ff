package io.mmstream.worker;

import ai.djl.Device;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mmstream.config.KafkaConnectionCheck;
import io.mmstream.model.tensor.DeviceMemory;
import io.mmstream.schema.ModelInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker process: picks devices, loads and warms up one model per device, serves health and
 * metrics, and runs a {@link TaskWorker}. Ready only once the models are warm and the consumer runs.
 */
public final class WorkerMain implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerMain.class);

  private final HealthServer health;
  private final List<TaskModel<?>> models;
  private final TaskWorker<?> worker;
  private final WorkerMetrics metrics;
  private final AtomicBoolean closed = new AtomicBoolean();

  private WorkerMain(HealthServer health, List<TaskModel<?>> models, TaskWorker<?> worker, WorkerMetrics metrics) {
    this.health = health;
    this.models = models;
    this.worker = worker;
    this.metrics = metrics;
  }

  /**
   * Starts a worker with the model factory registered for the kind, after logging every setting
   * (secrets masked); blocks until the JVM shuts down.
   */
  public static void runUntilShutdown(WorkerSettings settings) throws InterruptedException {
    LOG.info("mmstream worker settings:\n{}", settings.source().describe(WorkerSettings.ALL));
    WorkerMain main = start(settings, TaskModelFactory.forKind(settings.kind()));
    Runtime.getRuntime().addShutdownHook(new Thread(main::close, "mmstream-worker-shutdown"));
    main.worker.awaitTermination(Duration.ofDays(365_000));
    if (main.worker.failure() != null) {
      throw new IllegalStateException("worker failed", main.worker.failure());
    }
  }

  /**
   * Checks that the cluster accepts this worker's credentials (before spending time on the model), loads
   * and warms up the models and starts consuming.
   */
  public static WorkerMain start(WorkerSettings settings, TaskModelFactory factory) {
    KafkaConnectionCheck.verify(settings.source(), "worker-" + settings.kind().id() + "-" + settings.workerId() + "-check");
    ImageLoader imageLoader = new ImageLoader(settings.imageLimits());
    LOG.info("starting {} worker {}: model {}", settings.kind().id(), settings.workerId(), settings.modelSource());
    DeviceSelector.Selection selection = DeviceSelector.select(settings.device(), settings.fp16());
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    LateBound<TaskWorker<?>> workerRef = new LateBound<>();
    HealthServer health =
        settings.httpPort() < 0
            ? null
            : new HealthServer(
                settings.source().get(WorkerSettings.HTTP_BIND_ADDRESS),
                settings.httpPort(),
                registry::scrape,
                () -> workerRef.value == null || workerRef.value.isRunning(),
                () -> workerRef.value != null && workerRef.value.isRunning());
    List<TaskModel<?>> models = new ArrayList<>();
    try {
      for (int i = 0; i < selection.devices().size(); i++) {
        TaskModel<?> model = factory.load(
            settings.kind(), settings.modelSource(), selection.devices().get(i), selection.fp16(), settings.source());
        models.add(model);
        long start = System.nanoTime();
        model.warmUp(settings.batchMaxSize());
        LOG.info("model {} warmed up on {} in {} ms", describe(model.info()), selection.names().get(i), (System.nanoTime() - start) / 1_000_000);
      }
      ModelInfo info = models.get(0).info();
      WorkerMetrics metrics = new WorkerMetrics(registry, settings.kind(), info.getName(), String.join(",", selection.names()));
      for (int i = 0; i < selection.devices().size(); i++) {
        Device device = selection.devices().get(i);
        metrics.deviceMemory(selection.names().get(i), () -> DeviceMemory.usedBytes(device));
      }
      TaskWorker<?> worker = newWorker(settings, models, selection.names(), imageLoader, metrics);
      worker.start();
      workerRef.value = worker;
      metrics.setReady(true);
      LOG.info(
          "{} worker ready: model {} on {}{}; {}; topic {} group {} transactional id {}; http {}",
          settings.kind().id(),
          describe(info),
          String.join(",", selection.names()),
          selection.fp16() ? " (float16)" : "",
          settings.describeBatching(),
          settings.kind().taskTopic(),
          settings.groupId(),
          settings.transactionalId(),
          health == null ? "off" : ":" + health.port());
      return new WorkerMain(health, models, worker, metrics);
    } catch (RuntimeException e) {
      models.forEach(TaskModel::close);
      if (health != null) {
        health.close();
      }
      throw e;
    }
  }

  /** All models of one factory and kind share their prepared-input type. */
  @SuppressWarnings("unchecked")
  private static <P> TaskWorker<P> newWorker(
      WorkerSettings settings, List<TaskModel<?>> models, List<String> devices, ImageLoader loader, WorkerMetrics metrics) {
    List<TaskModel<P>> typed = new ArrayList<>();
    models.forEach(m -> typed.add((TaskModel<P>) m));
    return new TaskWorker<>(settings, typed, devices, loader, metrics);
  }

  private static String describe(ModelInfo info) {
    return info.getName() + "@" + info.getRevision();
  }

  /** Port of the health server, or -1 when it is off. */
  public int httpPort() {
    return health == null ? -1 : health.port();
  }

  public WorkerMetrics metrics() {
    return metrics;
  }

  public TaskWorker<?> worker() {
    return worker;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    metrics.setReady(false);
    worker.close();
    models.forEach(TaskModel::close);
    if (health != null) {
      health.close();
    }
    LOG.info("worker closed");
  }

  /** A reference the health checks read before the worker exists. */
  private static final class LateBound<T> {
    volatile T value;
  }
}

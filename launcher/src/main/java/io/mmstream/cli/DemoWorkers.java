package io.mmstream.cli;

import io.mmstream.config.Settings;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.TaskModelFactory;
import io.mmstream.worker.WorkerMain;
import io.mmstream.worker.WorkerSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One in-process worker per model kind (tag, caption, VQA), as the demo and the end-to-end test run them. */
public final class DemoWorkers implements AutoCloseable {
  /** The kinds the demo runs, one worker each. */
  public static final List<ModelKind> KINDS = List.of(ModelKind.CLIP, ModelKind.CAPTION, ModelKind.VQA);

  private final List<WorkerMain> workers;

  private DemoWorkers(List<WorkerMain> workers) {
    this.workers = workers;
  }

  /**
   * Starts the three workers, each serving its own /metrics and /health on localhost: on
   * {@code basePort}, {@code basePort + 1}, {@code basePort + 2} in the order of {@link #KINDS}; 0: any free
   * ports; -1: none.
   */
  public static DemoWorkers start(Settings settings, DemoModels models, int basePort) {
    List<WorkerMain> started = new ArrayList<>();
    try {
      for (int i = 0; i < KINDS.size(); i++) {
        ModelKind kind = KINDS.get(i);
        started.add(start(settings, kind, models.dir(kind), basePort <= 0 ? basePort : basePort + i));
      }
      return new DemoWorkers(started);
    } catch (RuntimeException e) {
      started.forEach(WorkerMain::close);
      throw e;
    }
  }

  /**
   * One demo worker of {@code kind} with the demo's stable id (demo-KIND): a worker started again after a
   * crash takes its predecessor's partitions back at once (static membership) and fences its transaction.
   */
  public static WorkerMain start(Settings settings, ModelKind kind, Path modelDir, int httpPort) {
    Settings s = settings
        .with(WorkerSettings.KIND.key(), kind.id())
        .with(WorkerSettings.MODEL_DIR.key(), modelDir.toString())
        .with(WorkerSettings.HTTP_PORT.key(), httpPort)
        .with(WorkerSettings.HTTP_BIND_ADDRESS.key(), "127.0.0.1")
        .with(WorkerSettings.WORKER_ID.key(), "demo-" + kind.id())
        .with(WorkerSettings.DECODE_THREADS.key(), 1)
        .with(WorkerSettings.BATCH_MAX_DELAY_MS.key(), 20);
    WorkerSettings workerSettings = WorkerSettings.from(s);
    return WorkerMain.start(workerSettings, TaskModelFactory.forKind(workerSettings.kind()));
  }

  public List<WorkerMain> workers() {
    return workers;
  }

  @Override
  public void close() {
    workers.forEach(WorkerMain::close);
  }
}

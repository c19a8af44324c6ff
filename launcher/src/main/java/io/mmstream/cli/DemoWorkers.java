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
  static final List<ModelKind> KINDS = List.of(ModelKind.CLIP, ModelKind.CAPTION, ModelKind.VQA);

  private final List<WorkerMain> workers;

  private DemoWorkers(List<WorkerMain> workers) {
    this.workers = workers;
  }

  /** Starts the three workers; the tag worker serves /metrics and /health on {@code httpPort}. */
  public static DemoWorkers start(Settings settings, DemoModels models, int httpPort) {
    List<WorkerMain> started = new ArrayList<>();
    try {
      started.add(start(settings, ModelKind.CLIP, models.clip(), httpPort));
      started.add(start(settings, ModelKind.CAPTION, models.caption(), -1));
      started.add(start(settings, ModelKind.VQA, models.vqa(), -1));
      return new DemoWorkers(started);
    } catch (RuntimeException e) {
      started.forEach(WorkerMain::close);
      throw e;
    }
  }

  private static WorkerMain start(Settings settings, ModelKind kind, Path modelDir, int httpPort) {
    Settings s = settings
        .with(WorkerSettings.KIND.key(), kind.id())
        .with(WorkerSettings.MODEL_DIR.key(), modelDir.toString())
        .with(WorkerSettings.HTTP_PORT.key(), httpPort)
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

package io.mmstream.worker;

import ai.djl.Device;
import io.mmstream.config.Settings;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** Loads {@link MeanColourModel} for the clip kind, for tests that start a whole worker process. */
final class MeanColourModelFactory implements TaskModelFactory {
  private final Duration batchDelay;
  private final CountDownLatch warmUpGate;

  MeanColourModelFactory(Duration batchDelay, CountDownLatch warmUpGate) {
    this.batchDelay = batchDelay;
    this.warmUpGate = warmUpGate;
  }

  MeanColourModelFactory() {
    this(Duration.ZERO, new CountDownLatch(0));
  }

  @Override
  public Set<ModelKind> kinds() {
    return Set.of(ModelKind.CLIP);
  }

  @Override
  public TaskModel<?> load(ModelKind kind, ModelSource source, Device device, boolean fp16, Settings settings) {
    return new MeanColourModel(device, batchDelay, warmUpGate);
  }
}

package io.mmstream.worker;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.mmstream.image.PilResampler;
import io.mmstream.image.PixelImage;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Test model with checkable math: the mean colour (per channel, in [0, 1]) of an 8x8 bicubic
 * thumbnail, computed for the whole batch at once with DJL NDArray, returned as the embedding.
 *
 * <p>A tag label "explode" makes any batch holding that item throw, like an input that crashes a
 * real model; {@code batchDelay} makes the model slow; {@code warmUpGate} holds warm-up until
 * released. The worker tests that need a deliberately failing, slow or gated model use it (poison
 * isolation, backpressure, readiness, the crash test's 1,200 tasks); the real models have their own
 * broker tests ({@link RealModelWorkerTest}).
 */
final class MeanColourModel implements TaskModel<MeanColourModel.Input> {
  static final int SIDE = 8;

  record Input(float[] pixels, boolean explodes) {}

  private final NDManager manager;
  private final Duration batchDelay;
  private final CountDownLatch warmUpGate;

  MeanColourModel(Device device, Duration batchDelay, CountDownLatch warmUpGate) {
    this.manager = NDManager.newBaseManager(device);
    this.batchDelay = batchDelay;
    this.warmUpGate = warmUpGate;
  }

  MeanColourModel() {
    this(Device.cpu(), Duration.ZERO, new CountDownLatch(0));
  }

  @Override
  public ModelInfo info() {
    return new ModelInfo("fixture-mean-colour", "1");
  }

  @Override
  public Input prepare(TaskRequest request, PixelImage image) {
    PixelImage thumb = PilResampler.resizeBicubic(image.toRgb(), SIDE, SIDE);
    float[] pixels = new float[thumb.pixels().length];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = thumb.pixels()[i] & 0xFF;
    }
    boolean explodes = request.getTag() != null && request.getTag().getLabels().contains("explode");
    return new Input(pixels, explodes);
  }

  @Override
  public List<TaskOutputs> runBatch(List<Input> batch) {
    if (batch.stream().anyMatch(Input::explodes)) {
      throw new IllegalStateException("fixture model fails on a marked item");
    }
    if (!batchDelay.isZero()) {
      try {
        Thread.sleep(batchDelay.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    int perImage = SIDE * SIDE * 3;
    float[] flat = new float[batch.size() * perImage];
    for (int i = 0; i < batch.size(); i++) {
      System.arraycopy(batch.get(i).pixels(), 0, flat, i * perImage, perImage);
    }
    float[] means;
    try (NDManager scope = manager.newSubManager()) {
      NDArray pixels = scope.create(flat, new Shape(batch.size(), SIDE * SIDE, 3));
      means = pixels.mean(new int[] {1}).div(255f).toFloatArray();
    }
    List<TaskOutputs> outputs = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      outputs.add(new TaskOutputs(List.of(), List.of(means[3 * i], means[3 * i + 1], means[3 * i + 2]), null, List.of()));
    }
    return outputs;
  }

  @Override
  public void warmUp(int maxBatchSize) {
    try {
      warmUpGate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Input> batch = new ArrayList<>();
    for (int i = 0; i < maxBatchSize; i++) {
      batch.add(new Input(new float[SIDE * SIDE * 3], false));
    }
    runBatch(batch);
  }

  @Override
  public void close() {
    manager.close();
  }
}

package io.mmstream.model.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Optional;
import java.util.Set;

/**
 * Random tensors of whatever shape a model asks for: builds real-shape presets (ViT-B/32, BLIP base,
 * ...) for benchmarks without downloading a checkpoint. Values are N(0, std); optional keys are absent.
 */
public final class RandomWeightStore implements WeightStore {
  private final NDManager manager;
  private final DataType floatType;
  private final float std;

  public RandomWeightStore(NDManager manager, DataType floatType, long seed, float std) {
    this.manager = manager;
    this.floatType = floatType;
    this.std = std;
    manager.getEngine().setRandomSeed((int) seed);
  }

  @Override
  public NDManager manager() {
    return manager;
  }

  @Override
  public DataType floatType() {
    return floatType;
  }

  @Override
  public Optional<NDArray> load(String key, long[] expectedShape) {
    if (expectedShape == null) {
      throw new WeightException("random weights need a shape for '" + key + "'");
    }
    return Optional.of(manager.randomNormal(0f, std, new Shape(expectedShape), floatType));
  }

  @Override
  public boolean contains(String key) {
    return false;
  }

  @Override
  public Set<String> unusedKeys() {
    return Set.of();
  }

  @Override
  public String describe() {
    return "random weights";
  }

  @Override
  public void close() {}
}

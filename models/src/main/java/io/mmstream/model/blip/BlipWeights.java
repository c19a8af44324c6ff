package io.mmstream.model.blip;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.WeightStore;
import java.io.IOException;
import java.nio.file.Path;

/** Opening the tensors of a BLIP checkpoint directory, or random ones for a preset. */
final class BlipWeights {
  /** Buffers that published checkpoints may carry and no module reads. */
  static final String[] IGNORABLE_KEYS = {".*\\.position_ids"};
  /** Standard deviation of random preset weights (BERT's initializer range). */
  static final float RANDOM_STD = 0.02f;

  private BlipWeights() {}

  static WeightStore open(Path modelDirectory, NDManager manager) throws IOException {
    return CheckpointWeightStore.open(modelDirectory, manager, DataType.FLOAT32, false);
  }

  static WeightStore random(NDManager manager, long seed) {
    return new RandomWeightStore(manager, DataType.FLOAT32, seed, RANDOM_STD);
  }

  /** Closes {@code store} when building a model from it failed. */
  static RuntimeException closeOnFailure(WeightStore store, RuntimeException failure) {
    try {
      store.close();
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
    return failure;
  }
}

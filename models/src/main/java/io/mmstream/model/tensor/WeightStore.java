package io.mmstream.model.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Where a model's tensors come from: a checkpoint directory, or random values of the requested shape
 * (presets for benchmarks without a download). Models never talk to a store directly: they go
 * through a {@link Weights} view whose prefixes mirror the checkpoint's key tree.
 */
public interface WeightStore extends AutoCloseable {

  NDManager manager();

  /** The floating-point type the model computes in; stored tensors are converted to it on load. */
  DataType floatType();

  /** Loads the tensor under {@code key}, checking its shape; empty when the key is absent. */
  Optional<NDArray> load(String key, long[] expectedShape);

  boolean contains(String key);

  /** Keys present in the checkpoint that no module asked for (empty for random stores). */
  Set<String> unusedKeys();

  /** Where the tensors come from, for error messages. */
  String describe();

  @Override
  void close() throws IOException;

  /**
   * Builds a model over {@code store}; when building fails the store is closed, so a half-built model leaves no
   * mapped checkpoint files behind.
   */
  static <M> M buildOrClose(WeightStore store, Function<WeightStore, M> build) {
    try {
      return build.apply(store);
    } catch (RuntimeException e) {
      try {
        store.close();
      } catch (IOException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
  }

  /**
   * Fails naming every checkpoint key that the model did not consume, apart from keys that match
   * one of {@code ignorable} (regular expressions, e.g. position_ids buffers).
   */
  default void requireAllUsed(String... ignorable) {
    Set<String> unused = unusedKeys();
    var unexpected =
        unused.stream()
            .filter(k -> Arrays.stream(ignorable).noneMatch(k::matches))
            .sorted()
            .toList();
    if (!unexpected.isEmpty()) {
      throw new WeightException(
          describe() + ": unexpected tensor(s) in checkpoint: " + String.join(", ", unexpected));
    }
  }

  static String shapeText(long[] shape) {
    return Arrays.toString(shape);
  }
}

package io.mmstream.model.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/** Random (or other) weights that remember what a model asked for, to be saved as a checkpoint. */
public final class RecordingWeightStore implements WeightStore {
  private final WeightStore delegate;
  private final Predicate<String> absent;
  /** The arrays handed out, by key, in load order. */
  public final Map<String, NDArray> loaded = new LinkedHashMap<>();
  /** The shape the model asked for, by key. */
  public final Map<String, long[]> shapes = new LinkedHashMap<>();

  /** {@code absent}: keys reported missing (optional tensors a checkpoint may leave out, such as tied weights). */
  public RecordingWeightStore(WeightStore delegate, Predicate<String> absent) {
    this.delegate = delegate;
    this.absent = absent;
  }

  public RecordingWeightStore(WeightStore delegate) {
    this(delegate, key -> false);
  }

  /** A writer holding every loaded array. */
  public SafetensorsWriter writer() {
    SafetensorsWriter writer = new SafetensorsWriter();
    loaded.forEach(writer::add);
    return writer;
  }

  /** Writes every loaded array to {@code dir/model.safetensors}. */
  public void save(Path dir) throws IOException {
    writer().write(dir.resolve("model.safetensors"));
  }

  @Override
  public NDManager manager() {
    return delegate.manager();
  }

  @Override
  public DataType floatType() {
    return delegate.floatType();
  }

  @Override
  public Optional<NDArray> load(String key, long[] expectedShape) {
    if (absent.test(key)) {
      return Optional.empty();
    }
    Optional<NDArray> array = delegate.load(key, expectedShape);
    array.ifPresent(a -> {
      loaded.put(key, a);
      shapes.put(key, expectedShape.clone());
    });
    return array;
  }

  @Override
  public boolean contains(String key) {
    return loaded.containsKey(key);
  }

  @Override
  public Set<String> unusedKeys() {
    return Set.of();
  }

  @Override
  public String describe() {
    return "recorded random weights";
  }

  @Override
  public void close() {}
}

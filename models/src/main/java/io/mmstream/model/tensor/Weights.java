package io.mmstream.model.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Optional;

/**
 * A prefixed view of a {@link WeightStore}, in the manner of candle's VarBuilder: a tower asks for
 * {@code weights.sub("vision_model")}, a layer for {@code sub("encoder").sub("layers").sub(i)}, so
 * the module tree mirrors the checkpoint's key tree and a wrong name fails with the full key.
 */
public final class Weights {
  private final WeightStore store;
  private final String prefix;

  public Weights(WeightStore store) {
    this(store, "");
  }

  private Weights(WeightStore store, String prefix) {
    this.store = store;
    this.prefix = prefix;
  }

  public Weights sub(String name) {
    return new Weights(store, key(name) + ".");
  }

  public Weights sub(int index) {
    return sub(Integer.toString(index));
  }

  /** The full checkpoint key of {@code name} under this view. */
  public String key(String name) {
    return prefix + name;
  }

  public String prefix() {
    return prefix;
  }

  public NDManager manager() {
    return store.manager();
  }

  public DataType floatType() {
    return store.floatType();
  }

  public WeightStore store() {
    return store;
  }

  /** The tensor {@code name}, which must exist with exactly {@code shape}. */
  public NDArray get(String name, long... shape) {
    return store
        .load(key(name), shape)
        .orElseThrow(
            () -> new WeightException(
                store.describe() + ": missing tensor '" + key(name) + "' (expected shape "
                    + WeightStore.shapeText(shape) + ")"));
  }

  /** The tensor {@code name} when the checkpoint has it (tied or optional weights). */
  public Optional<NDArray> find(String name, long... shape) {
    return store.load(key(name), shape);
  }

  public boolean contains(String name) {
    return store.contains(key(name));
  }
}

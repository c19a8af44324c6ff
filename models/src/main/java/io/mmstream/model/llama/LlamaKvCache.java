package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keys and values of every decoder layer for the positions seen so far, [B, kvHeads, T, headDim]
 * per layer. They live in the cache's own manager, so they survive the per-step scopes that made
 * them; a replaced array is closed at once, so a long generation holds one copy per layer.
 */
public final class LlamaKvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys;
  private final NDArray[] values;

  public LlamaKvCache(NDManager parent, int layers) {
    this.manager = parent.newSubManager();
    this.keys = new NDArray[layers];
    this.values = new NDArray[layers];
  }

  /** Positions cached so far (0 before the first forward). */
  public long length() {
    return keys[0] == null ? 0 : keys[0].getShape().get(2);
  }

  /** Appends this step's keys of {@code layer} and returns all of them. */
  public NDArray appendKeys(int layer, NDArray key) {
    keys[layer] = replace(keys[layer], keys[layer] == null ? key : keys[layer].concat(key, 2));
    return keys[layer];
  }

  /** Appends this step's values of {@code layer} and returns all of them. */
  public NDArray appendValues(int layer, NDArray value) {
    values[layer] = replace(values[layer], values[layer] == null ? value : values[layer].concat(value, 2));
    return values[layer];
  }

  /** New batch row {@code i} continues old row {@code rows[i]} (int64): beam search expanding or reordering. */
  public void selectRows(NDArray rows) {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null) {
        keys[i] = replace(keys[i], keys[i].get(rows));
        values[i] = replace(values[i], values[i].get(rows));
      }
    }
  }

  private NDArray replace(NDArray old, NDArray fresh) {
    fresh.attach(manager);
    if (old != null && old != fresh) {
      old.close();
    }
    return fresh;
  }

  @Override
  public void close() {
    manager.close();
  }
}

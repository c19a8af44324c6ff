package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;

/**
 * Keys and values of every decoder layer for the positions seen so far, [B, kvHeads, T, headDim]
 * per layer. The arrays outlive the {@link NDScope} of the step that made them; a replaced array is
 * closed at once, so a long generation holds one copy per layer.
 */
public final class LlamaKvCache implements AutoCloseable {
  private final NDArray[] keys;
  private final NDArray[] values;

  public LlamaKvCache(int layers) {
    this.keys = new NDArray[layers];
    this.values = new NDArray[layers];
  }

  /** Positions cached so far (0 before the first forward). */
  public long length() {
    return keys[0] == null ? 0 : keys[0].getShape().get(2);
  }

  /** Appends this step's keys and values of {@code layer} and returns the full ones. */
  NDList append(int layer, NDArray key, NDArray value) {
    keys[layer] = replace(keys[layer], keys[layer] == null ? key : NDArrays.concat(new NDList(keys[layer], key), 2));
    values[layer] =
        replace(values[layer], values[layer] == null ? value : NDArrays.concat(new NDList(values[layer], value), 2));
    return new NDList(keys[layer], values[layer]);
  }

  /** Keeps the batch rows {@code rows} (int64 [B']), in that order: beam search reordering its beams. */
  public void selectRows(NDArray rows) {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null) {
        keys[i] = replace(keys[i], keys[i].get(rows));
        values[i] = replace(values[i], values[i].get(rows));
      }
    }
  }

  private static NDArray replace(NDArray old, NDArray fresh) {
    NDScope.unregister(fresh);
    if (old != null && old != fresh) {
      old.close();
    }
    return fresh;
  }

  @Override
  public void close() {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != null) {
        keys[i].close();
        values[i].close();
        keys[i] = null;
        values[i] = null;
      }
    }
  }
}

package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Keys and values of one attention layer, {@code [B, heads, S, D]} each. */
public record AttentionKeyValues(NDArray keys, NDArray values) {

  /** Rows {@code rows} of both (beam expansion and reordering). */
  public AttentionKeyValues selectRows(NDArray rows) {
    return new AttentionKeyValues(keys.get(rows), values.get(rows));
  }

  public void attach(NDManager manager) {
    keys.attach(manager);
    values.attach(manager);
  }

  public void close() {
    keys.close();
    values.close();
  }
}

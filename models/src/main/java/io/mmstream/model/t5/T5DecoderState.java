package io.mmstream.model.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.llama.LlamaKvCache;
import java.util.List;

/**
 * What the T5 decoder keeps between steps: the self-attention KV cache, and per layer the cross-attention keys and
 * values of the encoder output (computed once) with the encoder's additive padding mask.
 */
public final class T5DecoderState implements AutoCloseable {
  private final NDManager manager;
  private final LlamaKvCache cache;
  private final List<NDArray> crossKeys;
  private final List<NDArray> crossValues;
  private NDArray crossMask;

  T5DecoderState(NDManager manager, LlamaKvCache cache, List<NDArray> crossKeys, List<NDArray> crossValues,
      NDArray crossMask) {
    this.manager = manager;
    this.cache = cache;
    this.crossKeys = crossKeys;
    this.crossValues = crossValues;
    this.crossMask = crossMask;
  }

  LlamaKvCache cache() {
    return cache;
  }

  List<NDArray> crossKeys() {
    return crossKeys;
  }

  List<NDArray> crossValues() {
    return crossValues;
  }

  NDArray crossMask() {
    return crossMask;
  }

  /** The manager the state's arrays live in. */
  public NDManager manager() {
    return manager;
  }

  /** New row {@code i} continues old row {@code rows[i]} (int64): beam expansion and reordering. */
  public void selectRows(NDArray rows) {
    cache.selectRows(rows);
    for (int i = 0; i < crossKeys.size(); i++) {
      crossKeys.set(i, replace(crossKeys.get(i), crossKeys.get(i).get(rows)));
      crossValues.set(i, replace(crossValues.get(i), crossValues.get(i).get(rows)));
    }
    crossMask = replace(crossMask, crossMask.get(rows));
  }

  private NDArray replace(NDArray old, NDArray fresh) {
    fresh.attach(manager);
    old.close();
    return fresh;
  }

  @Override
  public void close() {
    cache.close();
    manager.close();
  }
}

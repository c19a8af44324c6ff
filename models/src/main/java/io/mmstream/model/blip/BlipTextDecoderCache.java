package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;

/**
 * What a decoder keeps between generation steps: per layer the cross-attention keys/values of the
 * encoder states (computed once) and the self-attention keys/values of every position fed so far.
 * It owns its arrays through its own manager.
 */
public final class BlipTextDecoderCache implements AutoCloseable {
  private final NDManager manager;
  private List<AttentionKeyValues> cross;
  private NDArray crossMask;
  private List<AttentionKeyValues> self;
  private long length;

  BlipTextDecoderCache(NDManager manager, List<AttentionKeyValues> cross, NDArray crossMask) {
    this.manager = manager;
    this.cross = cross;
    this.crossMask = crossMask;
  }

  NDManager manager() {
    return manager;
  }

  List<AttentionKeyValues> cross() {
    return cross;
  }

  /** Additive cross-attention mask {@code [B, 1, 1, S]}, or null when every encoder position is attended. */
  NDArray crossMask() {
    return crossMask;
  }

  /** Self-attention keys/values per layer, or null before the first positions are fed. */
  List<AttentionKeyValues> self() {
    return self;
  }

  /** Positions fed so far. */
  public long length() {
    return length;
  }

  long rows() {
    return cross.get(0).keys().getShape().get(0);
  }

  void update(List<AttentionKeyValues> newSelf, long added) {
    if (self != null) {
      self.forEach(AttentionKeyValues::close);
    }
    newSelf.forEach(kv -> kv.attach(manager));
    self = newSelf;
    length += added;
  }

  /** Keeps rows {@code rows} in that order (beam expansion and reordering). */
  public void selectRows(long[] rows) {
    try (NDArray index = manager.create(rows)) {
      cross = reselect(cross, index);
      if (self != null) {
        self = reselect(self, index);
      }
      if (crossMask != null) {
        NDArray old = crossMask;
        crossMask = old.get(index);
        old.close();
      }
    }
  }

  private List<AttentionKeyValues> reselect(List<AttentionKeyValues> layers, NDArray index) {
    List<AttentionKeyValues> out = new ArrayList<>(layers.size());
    for (AttentionKeyValues kv : layers) {
      AttentionKeyValues selected = kv.selectRows(index);
      selected.attach(manager);
      kv.close();
      out.add(selected);
    }
    return out;
  }

  @Override
  public void close() {
    manager.close();
  }
}

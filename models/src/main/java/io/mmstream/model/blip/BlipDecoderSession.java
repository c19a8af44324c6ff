package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.mmstream.model.generation.IncrementalDecoder;
import java.util.Arrays;

/**
 * The BLIP text decoder plus LM head as seen by {@link io.mmstream.model.generation.SequenceGenerator}.
 *
 * <p>With the KV cache, the encoder states' cross-attention keys/values are computed once and each
 * step feeds only the new tokens. Without it, every step reruns the decoder over the whole sequence,
 * cross-attention projections included, which is what the original computes and what the cached
 * path must reproduce.
 */
public final class BlipDecoderSession implements IncrementalDecoder, AutoCloseable {
  private static final NDIndex LAST_POSITION = new NDIndex(":, -1, :");

  private final BlipTextModel decoder;
  private final BlipLmHead head;
  private final NDManager manager;
  private final BlipTextDecoderCache cache;
  private NDArray encoderStates;
  private NDArray encoderAttentionMask;
  private long[][] sequences;

  /**
   * @param encoderStates {@code [B, S, W]} the decoder cross-attends to (not owned)
   * @param encoderAttentionMask {@code [B, S]} or null for all ones (not owned)
   */
  public BlipDecoderSession(
      BlipTextModel decoder, BlipLmHead head, NDArray encoderStates, NDArray encoderAttentionMask, boolean useKvCache) {
    this.decoder = decoder;
    this.head = head;
    this.manager = encoderStates.getManager().newSubManager();
    if (useKvCache) {
      this.cache = decoder.newCache(manager, encoderStates, encoderAttentionMask);
    } else {
      this.cache = null;
      this.encoderStates = encoderStates;
      this.encoderAttentionMask = encoderAttentionMask;
      this.sequences = new long[(int) encoderStates.getShape().get(0)][0];
    }
  }

  @Override
  public NDArray append(long[][] tokens) {
    try (NDManager step = manager.newSubManager()) {
      NDArray hidden;
      if (cache != null) {
        hidden = decoder.decode(step.create(tokens), cache);
      } else {
        for (int r = 0; r < sequences.length; r++) {
          long[] grown = Arrays.copyOf(sequences[r], sequences[r].length + tokens[r].length);
          System.arraycopy(tokens[r], 0, grown, sequences[r].length, tokens[r].length);
          sequences[r] = grown;
        }
        hidden = decoder.decode(step.create(sequences), null, encoderStates, encoderAttentionMask);
      }
      NDArray logits = head.forward(hidden.get(LAST_POSITION));
      logits.attach(manager);
      return logits;
    }
  }

  @Override
  public void selectRows(long[] rows) {
    if (cache != null) {
      cache.selectRows(rows);
      return;
    }
    long[][] selected = new long[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      selected[i] = sequences[(int) rows[i]];
    }
    sequences = selected;
    try (NDArray index = manager.create(rows)) {
      encoderStates = reselect(encoderStates, index);
      if (encoderAttentionMask != null) {
        encoderAttentionMask = reselect(encoderAttentionMask, index);
      }
    }
  }

  private NDArray reselect(NDArray source, NDArray index) {
    NDArray out = source.get(index);
    out.attach(manager);
    if (source.getManager() == manager) {
      source.close();
    }
    return out;
  }

  @Override
  public void close() {
    if (cache != null) {
      cache.close();
    }
    manager.close();
  }
}

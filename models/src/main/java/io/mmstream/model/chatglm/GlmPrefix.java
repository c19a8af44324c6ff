package io.mmstream.model.chatglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Where a GLM prompt's generated block starts, from its ids ({@code get_position_ids} / {@code get_masks} of
 * {@code modeling_chatglm.py}): the context is every token before the first {@code <sop>}, the mask position is
 * the first {@code [gMASK]} (else the first {@code [MASK]}). Tokens before {@code <sop>} get positions
 * {@code 0..ctx-1} and block position 0; from {@code <sop>} on the position stays at the mask position and the
 * block position counts 1, 2, 3 and so on. Every token sees the whole context (bidirectional), and the block
 * is causal.
 *
 * @param contextLength index of the first {@code <sop>}
 * @param maskPosition index of the first {@code [gMASK]} (or {@code [MASK]})
 */
public record GlmPrefix(int contextLength, int maskPosition) {

  /** Score given to masked-out pairs, as {@code attention_fn}'s {@code masked_fill(-10000.0)}. */
  static final float MASKED_SCORE = -10000f;

  public static GlmPrefix of(long[] ids, ChatGlmConfig config) {
    int context = indexOf(ids, config.bosTokenId());
    if (context < 0) {
      throw new IllegalArgumentException("a GLM prompt needs a <sop> (id " + config.bosTokenId() + ")");
    }
    int mask = indexOf(ids, config.gmaskTokenId());
    if (mask < 0) {
      mask = indexOf(ids, config.maskTokenId());
    }
    if (mask < 0) {
      throw new IllegalArgumentException(
          "a GLM prompt needs a [gMASK] or [MASK] (ids " + config.gmaskTokenId() + ", " + config.maskTokenId() + ")");
    }
    return new GlmPrefix(context, mask);
  }

  private static int indexOf(long[] ids, long id) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == id) {
        return i;
      }
    }
    return -1;
  }

  /** {@code [2][length]}: positions, then block positions, for a prompt of {@code length} ids. */
  public long[][] positionIds(int length) {
    long[][] out = new long[2][length];
    for (int i = 0; i < length; i++) {
      out[0][i] = i < contextLength ? i : maskPosition;
      out[1][i] = i < contextLength ? 0 : i - contextLength + 1;
    }
    return out;
  }

  /** Positions of the token at index {@code index} of the sequence (a generated one): {@code [mask, index - ctx + 1]}. */
  public long[] positionAt(int index) {
    return new long[] {maskPosition, index - contextLength + 1};
  }

  /** {@code [length][length]}, true where query {@code i} must not see key {@code j} (the original's bool mask). */
  public boolean[][] maskedOut(int length) {
    boolean[][] out = new boolean[length][length];
    for (int i = 0; i < length; i++) {
      for (int j = 0; j < length; j++) {
        out[i][j] = j >= contextLength && j > i;
      }
    }
    return out;
  }

  /** The prompt's mask as additive scores {@code [1, 1, length, length]}: 0 where seen, -10000 where masked. */
  public NDArray additiveMask(NDManager manager, int length) {
    float[] values = new float[length * length];
    boolean[][] masked = maskedOut(length);
    for (int i = 0; i < length; i++) {
      for (int j = 0; j < length; j++) {
        values[i * length + j] = masked[i][j] ? MASKED_SCORE : 0f;
      }
    }
    return manager.create(values, new Shape(1, 1, length, length));
  }
}

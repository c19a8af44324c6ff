package io.mmstream.model.instructblip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;

/** Token ids in rows of equal length with a 1/0 attention mask (0 on padding). */
public record TokenBatch(long[][] ids, long[][] mask) {

  /** Pads {@code rows} to the longest with {@code padId}, on the left or on the right. */
  public static TokenBatch pad(long[][] rows, long padId, boolean left) {
    int longest = Arrays.stream(rows).mapToInt(r -> r.length).max().orElse(0);
    long[][] ids = new long[rows.length][longest];
    long[][] mask = new long[rows.length][longest];
    for (int i = 0; i < rows.length; i++) {
      int offset = left ? longest - rows[i].length : 0;
      Arrays.fill(ids[i], padId);
      System.arraycopy(rows[i], 0, ids[i], offset, rows[i].length);
      Arrays.fill(mask[i], offset, offset + rows[i].length, 1L);
    }
    return new TokenBatch(ids, mask);
  }

  public int rows() {
    return ids.length;
  }

  public NDArray idsArray(NDManager manager) {
    return manager.create(ids);
  }

  public NDArray maskArray(NDManager manager) {
    return manager.create(mask);
  }
}

package io.mmstream.model.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;

/**
 * A test decoder whose next-token logits depend only on the row's last token and its row group:
 * {@code table[group][last]}. It records how rows were selected, like a KV cache would follow them.
 */
final class MarkovDecoder implements IncrementalDecoder {
  private final NDManager manager;
  private final float[][][] table;
  private int[] groups;
  private long[] last;

  /** {@code groups[row]} picks the table used for each initial row. */
  MarkovDecoder(NDManager manager, float[][][] table, int[] groups) {
    this.manager = manager;
    this.table = table;
    this.groups = groups.clone();
    this.last = new long[groups.length];
  }

  @Override
  public NDArray append(long[][] tokens) {
    int vocab = table[0][0].length;
    float[][] logits = new float[tokens.length][];
    for (int r = 0; r < tokens.length; r++) {
      last[r] = tokens[r][tokens[r].length - 1];
      logits[r] = table[groups[r]][(int) last[r]].clone();
    }
    return manager.create(logits).reshape(tokens.length, vocab);
  }

  @Override
  public void selectRows(long[] rows) {
    int[] g = new int[rows.length];
    long[] l = new long[rows.length];
    for (int i = 0; i < rows.length; i++) {
      g[i] = groups[(int) rows[i]];
      l[i] = last[(int) rows[i]];
    }
    groups = g;
    last = l;
  }

  static float[] logProbs(float... probabilities) {
    float[] out = Arrays.copyOf(probabilities, probabilities.length);
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) Math.log(Math.max(out[i], 1e-12));
    }
    return out;
  }
}

package io.mmstream.model.generation;

import ai.djl.ndarray.NDArray;

/**
 * A decoder seen from the search: it takes new tokens per row and answers with next-token logits.
 * Whether it keeps a KV cache or recomputes the whole sequence is its own business.
 */
public interface IncrementalDecoder {

  /**
   * Appends {@code tokens[row]} (the same count for every row) to each row's sequence. A decoder
   * primed with a prefix of its own (input embeddings) takes zero tokens per row on the first call.
   *
   * @return logits {@code [rows, vocab]} at each row's last position; the caller closes them
   */
  NDArray append(long[][] tokens);

  /** New row {@code i} continues old row {@code rows[i]} (beam expansion and reordering). */
  void selectRows(long[] rows);
}

package io.mmstream.model.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;
import java.util.Optional;

/**
 * T5 attention: no bias anywhere, no {@code 1/sqrt(d_kv)} scaling (folded into the initialisation), scores plus a
 * position bias (relative buckets, only the first block of a stack owns the table) plus the mask, softmax in float32.
 */
final class T5Attention {
  private final Linear q;
  private final Linear k;
  private final Linear v;
  private final Linear o;
  /** {@code [buckets, heads]}, present only in block 0. */
  private final NDArray relativeAttentionBias;
  private final int heads;
  private final int dKv;

  private T5Attention(Linear q, Linear k, Linear v, Linear o, NDArray relativeAttentionBias, T5Config c) {
    this.q = q;
    this.k = k;
    this.v = v;
    this.o = o;
    this.relativeAttentionBias = relativeAttentionBias;
    this.heads = c.numHeads();
    this.dKv = c.dKv();
  }

  static T5Attention load(Weights w, T5Config c, boolean hasRelativeBias) {
    int d = c.dModel();
    int inner = c.innerDim();
    Optional<NDArray> table = hasRelativeBias
        ? Optional.of(w.sub("relative_attention_bias").get("weight", c.relativeAttentionNumBuckets(), c.numHeads()))
        : Optional.empty();
    return new T5Attention(
        Linear.load(w.sub("q"), d, inner, false),
        Linear.load(w.sub("k"), d, inner, false),
        Linear.load(w.sub("v"), d, inner, false),
        Linear.load(w.sub("o"), inner, d, false),
        table.orElse(null),
        c);
  }

  /**
   * The position bias {@code [1, heads, queries, keys]} for queries at positions {@code past..past+queries-1} over
   * keys {@code 0..keys-1}.
   */
  NDArray positionBias(NDManager manager, int queries, int keys, int past, boolean bidirectional, T5Config c) {
    long[] buckets = new long[queries * keys];
    for (int i = 0; i < queries; i++) {
      for (int j = 0; j < keys; j++) {
        buckets[i * keys + j] = RelativePositionBuckets.bucket(j - (past + i), bidirectional,
            c.relativeAttentionNumBuckets(), c.relativeAttentionMaxDistance());
      }
    }
    NDArray ids = manager.create(buckets).reshape(queries, keys);
    NDArray values = Embedding.embedding(ids, relativeAttentionBias, SparseFormat.DENSE).singletonOrThrow();
    return values.transpose(2, 0, 1).expandDims(0);
  }

  NDArray project(Linear projection, NDArray x) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    return projection.forward(x).reshape(b, t, heads, dKv).transpose(0, 2, 1, 3);
  }

  /** Keys {@code [B, heads, S, d_kv]} of {@code x}. */
  NDArray keys(NDArray x) {
    return project(k, x);
  }

  /** Values {@code [B, heads, S, d_kv]} of {@code x}. */
  NDArray values(NDArray x) {
    return project(v, x);
  }

  /**
   * @param x queries' input {@code [B, T, d_model]}
   * @param keys {@code [B, heads, S, d_kv]}
   * @param values {@code [B, heads, S, d_kv]}
   * @param biasAndMask additive float32, broadcastable to {@code [B, heads, T, S]}
   */
  NDArray attend(NDArray x, NDArray keys, NDArray values, NDArray biasAndMask) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    NDArray scores = project(q, x).matMul(keys.transpose(0, 1, 3, 2)).toType(DataType.FLOAT32, false).add(biasAndMask);
    NDArray probabilities = scores.softmax(-1).toType(x.getDataType(), false);
    return o.forward(probabilities.matMul(values).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * dKv));
  }
}

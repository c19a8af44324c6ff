package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.Weights;

/**
 * BERT multi-head attention ({@code query}, {@code key}, {@code value}): self-attention when keys and
 * values come from the same sequence, cross-attention when they come from encoder states of width
 * {@code keyValueWidth}. Scores are divided by {@code sqrt(head_dim)} and the additive mask is added
 * before the softmax, as in med.py.
 */
public final class BlipTextSelfAttention {
  private final Linear query;
  private final Linear key;
  private final Linear value;
  private final int heads;
  private final int headDim;
  private final float scaleDivisor;

  public BlipTextSelfAttention(Linear query, Linear key, Linear value, int heads, int headDim) {
    this.query = query;
    this.key = key;
    this.value = value;
    this.heads = heads;
    this.headDim = headDim;
    this.scaleDivisor = (float) Math.sqrt(headDim);
  }

  /** Loads {@code query} [H, H] and {@code key}/{@code value} [H, keyValueWidth] under {@code w}. */
  public static BlipTextSelfAttention load(Weights w, int hiddenSize, int keyValueWidth, int heads) {
    return new BlipTextSelfAttention(
        Linear.load(w.sub("query"), hiddenSize, hiddenSize, true),
        Linear.load(w.sub("key"), keyValueWidth, hiddenSize, true),
        Linear.load(w.sub("value"), keyValueWidth, hiddenSize, true),
        heads,
        hiddenSize / heads);
  }

  /** Queries of {@code x [B, L, H]} as {@code [B, heads, L, D]}. */
  public NDArray queries(NDArray x) {
    return splitHeads(query.forward(x));
  }

  /** Keys of {@code source [B, S, W]} as {@code [B, heads, S, D]}. */
  public NDArray keys(NDArray source) {
    return splitHeads(key.forward(source));
  }

  /** Values of {@code source [B, S, W]} as {@code [B, heads, S, D]}. */
  public NDArray values(NDArray source) {
    return splitHeads(value.forward(source));
  }

  /**
   * {@code softmax(q k^T / sqrt(D) + mask) v}, heads merged back to {@code [B, L, heads*D]};
   * {@code additiveMask} broadcasts to {@code [B, heads, L, S]} or is null (nothing masked).
   */
  public NDArray attend(NDArray q, NDArray k, NDArray v, NDArray additiveMask) {
    NDArray scores = Scalars.divide(q.matMul(k.transpose(0, 1, 3, 2)), scaleDivisor);
    if (additiveMask != null) {
      scores = scores.add(additiveMask);
    }
    NDArray context = scores.softmax(-1).matMul(v);
    long batch = context.getShape().get(0);
    long length = context.getShape().get(2);
    return context.transpose(0, 2, 1, 3).reshape(batch, length, (long) heads * headDim);
  }

  private NDArray splitHeads(NDArray x) {
    long batch = x.getShape().get(0);
    long length = x.getShape().get(1);
    return x.reshape(batch, length, heads, headDim).transpose(0, 2, 1, 3);
  }
}

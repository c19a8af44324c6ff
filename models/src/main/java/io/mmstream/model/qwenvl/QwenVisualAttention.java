package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.Weights;

/**
 * visual.py's {@code VisualAttention} (self-attention in the ViT blocks). Its {@code in_proj} output is laid out per
 * head, {@code [q_h | k_h | v_h]} for head h in turn, not the {@code [Wq; Wk; Wv]} blocks of
 * {@code nn.MultiheadAttention}; q is divided by {@code sqrt(head_dim)} before the product.
 */
final class QwenVisualAttention {
  private final Linear inProjection;
  private final Linear outProjection;
  private final int heads;
  private final int headDim;
  private final float normFactor;

  private QwenVisualAttention(Linear inProjection, Linear outProjection, int width, int heads) {
    this.inProjection = inProjection;
    this.outProjection = outProjection;
    this.heads = heads;
    this.headDim = width / heads;
    this.normFactor = (float) Math.sqrt(headDim);
  }

  static QwenVisualAttention load(Weights w, QwenVisualConfig c) {
    long d = c.width();
    return new QwenVisualAttention(
        Linear.load(w.sub("in_proj"), d, 3 * d, true), Linear.load(w.sub("out_proj"), d, d, true), c.width(),
        c.heads());
  }

  /** {@code x} [B, L, W] to [B, L, W]. */
  NDArray forward(NDArray x) {
    long b = x.getShape().get(0);
    long l = x.getShape().get(1);
    // [B, L, H, 3hd] -> [B, H, L, 3hd]: each head's q, k, v side by side.
    NDArray mixed = inProjection.forward(x).reshape(b, l, heads, 3L * headDim).transpose(0, 2, 1, 3);
    NDArray q = Scalars.divide(mixed.get("..., :" + headDim), normFactor);
    NDArray k = mixed.get("..., " + headDim + ":" + 2 * headDim);
    NDArray v = mixed.get("..., " + 2 * headDim + ":");
    NDArray context = q.matMul(k.transpose(0, 1, 3, 2)).softmax(-1).matMul(v);
    return outProjection.forward(context.transpose(0, 2, 1, 3).reshape(b, l, (long) heads * headDim));
  }
}

package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.Weights;

/**
 * ViT multi-head self-attention with one fused {@code qkv} projection (rows {@code [q; k; v]}) and
 * {@code projection}; scores are scaled by {@code head_dim^-0.5}, multiplied in as the original does.
 */
public final class BlipVisionAttention {
  private final Linear qkv;
  private final Linear projection;
  private final int heads;
  private final int headDim;
  private final float scale;

  public BlipVisionAttention(Linear qkv, Linear projection, int heads, int headDim) {
    this.qkv = qkv;
    this.projection = projection;
    this.heads = heads;
    this.headDim = headDim;
    this.scale = (float) Math.pow(headDim, -0.5);
  }

  /** Loads {@code qkv.*} [3C, C] and {@code projection.*} [C, C] under {@code w}. */
  public static BlipVisionAttention load(Weights w, int hiddenSize, int heads) {
    return new BlipVisionAttention(
        Linear.load(w.sub("qkv"), hiddenSize, 3L * hiddenSize, true),
        Linear.load(w.sub("projection"), hiddenSize, hiddenSize, true),
        heads,
        hiddenSize / heads);
  }

  public NDArray forward(NDArray x) {
    long batch = x.getShape().get(0);
    long tokens = x.getShape().get(1);
    NDArray qkvHeads = qkv.forward(x).reshape(batch, tokens, 3, heads, headDim).transpose(2, 0, 3, 1, 4);
    NDArray q = qkvHeads.get(0);
    NDArray k = qkvHeads.get(1);
    NDArray v = qkvHeads.get(2);
    NDArray probs = Scalars.multiply(q.matMul(k.transpose(0, 1, 3, 2)), scale).softmax(-1);
    NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(batch, tokens, (long) heads * headDim);
    return projection.forward(context);
  }
}

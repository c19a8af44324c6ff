package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.Weights;

/**
 * Multi-head self-attention as openai's {@code nn.MultiheadAttention} computes it: q divided by
 * sqrt(head_dim), softmax over keys, an optional additive mask (the text tower's causal mask).
 *
 * <p>HF stores q/k/v as three Linear layers; they are concatenated once at load into one
 * {@code [3D, D]} projection so each layer runs one matmul instead of three.
 */
final class ClipAttention {
  private final Linear qkvProj;
  private final Linear outProj;
  private final int hiddenSize;
  private final int numHeads;
  private final int headDim;
  private final float sqrtHeadDim;

  private ClipAttention(Linear qkvProj, Linear outProj, int hiddenSize, int numHeads) {
    this.qkvProj = qkvProj;
    this.outProj = outProj;
    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.headDim = hiddenSize / numHeads;
    this.sqrtHeadDim = (float) Math.sqrt(headDim);
  }

  /** Loads {@code q_proj}, {@code k_proj}, {@code v_proj} and {@code out_proj} under {@code w}. */
  static ClipAttention load(Weights w, int hiddenSize, int numHeads) {
    Linear q = Linear.load(w.sub("q_proj"), hiddenSize, hiddenSize, true);
    Linear k = Linear.load(w.sub("k_proj"), hiddenSize, hiddenSize, true);
    Linear v = Linear.load(w.sub("v_proj"), hiddenSize, hiddenSize, true);
    Linear qkv = new Linear(
        NDArrays.concat(new NDList(q.weight(), k.weight(), v.weight()), 0),
        NDArrays.concat(new NDList(q.bias(), k.bias(), v.bias()), 0));
    for (Linear part : new Linear[] {q, k, v}) {
      part.weight().close();
      part.bias().close();
    }
    return new ClipAttention(qkv, Linear.load(w.sub("out_proj"), hiddenSize, hiddenSize, true), hiddenSize, numHeads);
  }

  /** {@code x} [B, T, D]; {@code mask} [T, T] added to the scores, or null. Returns [B, T, D]. */
  NDArray forward(NDArray x, NDArray mask) {
    Shape shape = x.getShape();
    long batch = shape.get(0);
    long tokens = shape.get(1);
    // [B, T, 3, H, Dh] -> [3, B, H, T, Dh]: q, k and v split per head in one view.
    NDArray qkv = qkvProj.forward(x).reshape(batch, tokens, 3, numHeads, headDim).transpose(2, 0, 3, 1, 4);
    // A division, as openai's torch code does, rather than a multiply by the rounded reciprocal.
    NDArray q = Scalars.divide(qkv.get(0), sqrtHeadDim);
    NDArray k = qkv.get(1);
    NDArray v = qkv.get(2);
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2));
    if (mask != null) {
      scores = scores.addi(mask);
    }
    NDArray context = scores.softmax(-1).matMul(v);
    return outProj.forward(context.transpose(0, 2, 1, 3).reshape(batch, tokens, hiddenSize));
  }
}

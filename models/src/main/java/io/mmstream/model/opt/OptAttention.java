package io.mmstream.model.opt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** OPT's self-attention: queries scaled by {@code headDim^-0.5} before the product, biases on every projection. */
final class OptAttention {
  private final Linear queryProjection;
  private final Linear keyProjection;
  private final Linear valueProjection;
  private final Linear outputProjection;
  private final int heads;
  private final int headDim;
  private final float scaling;

  private OptAttention(Linear q, Linear k, Linear v, Linear o, OptConfig c) {
    this.queryProjection = q;
    this.keyProjection = k;
    this.valueProjection = v;
    this.outputProjection = o;
    this.heads = c.numAttentionHeads();
    this.headDim = c.headDim();
    this.scaling = (float) Math.pow(headDim, -0.5);
  }

  static OptAttention load(Weights w, OptConfig c) {
    int d = c.hiddenSize();
    boolean bias = c.enableBias();
    return new OptAttention(
        Linear.load(w.sub("q_proj"), d, d, bias),
        Linear.load(w.sub("k_proj"), d, d, bias),
        Linear.load(w.sub("v_proj"), d, d, bias),
        Linear.load(w.sub("out_proj"), d, d, bias),
        c);
  }

  /**
   * @param x {@code [B, T, D]}
   * @param mask additive float32 {@code [B, 1, T, past + T]}
   * @param cache this layer's keys/values are extended when non-null
   */
  NDArray forward(NDArray x, NDArray mask, LlamaKvCache cache, int layer) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    NDArray q = heads(queryProjection.forward(x).mul(scaling), b, t);
    NDArray k = heads(keyProjection.forward(x), b, t);
    NDArray v = heads(valueProjection.forward(x), b, t);
    if (cache != null) {
      k = cache.appendKeys(layer, k);
      v = cache.appendValues(layer, v);
    }
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2));
    NDArray probabilities = scores.toType(DataType.FLOAT32, false).add(mask).softmax(-1).toType(x.getDataType(), false);
    NDArray context = probabilities.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
    return outputProjection.forward(context);
  }

  private NDArray heads(NDArray projected, long b, long t) {
    return projected.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
  }
}

package io.mmstream.model.qwen;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.llama.RotaryEmbedding;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.Weights;

/**
 * {@code QWenAttention}: one fused {@code c_attn} (with bias) split into q|k|v blocks of hidden_size, rotary on the
 * leading {@code rotary_dim} of each head, the logn factor on the queries past {@code seq_length}, scores divided by
 * {@code sqrt(head_dim)}, softmax in the activation dtype (no float32 upcast in the original), {@code c_proj}.
 * Rotary runs in float32 and is cast back, as the original's {@code apply_rotary_pos_emb} does.
 */
final class QwenAttention {
  private final Linear qkvProjection;
  private final Linear outputProjection;
  private final int heads;
  private final int headDim;
  private final int rotaryDim;
  private final long hidden;
  private final float scoreDivisor;

  private QwenAttention(Linear qkv, Linear out, QwenConfig c) {
    this.qkvProjection = qkv;
    this.outputProjection = out;
    this.heads = c.numAttentionHeads();
    this.headDim = c.headDim();
    this.rotaryDim = c.rotaryDim();
    this.hidden = c.hiddenSize();
    this.scoreDivisor = c.scaleAttnWeights() ? (float) Math.sqrt(headDim) : 1f;
  }

  static QwenAttention load(Weights w, QwenConfig c) {
    long d = c.hiddenSize();
    return new QwenAttention(
        Linear.load(w.sub("c_attn"), d, 3 * d, true), Linear.load(w.sub("c_proj"), d, d, !c.noBias()), c);
  }

  /**
   * @param x [B, T, D]
   * @param rotaryTables cos/sin [B, 1, T, rotary_dim] of the T new positions
   * @param logn the queries' logn factors [1, 1, T, 1], or null where all are 1
   * @param mask additive [1, 1, T, past + T], or null when every key is visible
   */
  NDArray forward(NDArray x, RotaryEmbedding rotary, NDList rotaryTables, NDArray logn, NDArray mask,
      LlamaKvCache cache, int layer) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    NDArray qkv = qkvProjection.forward(x);
    NDArray q = rotate(heads(qkv.get("..., :" + hidden), b, t), rotary, rotaryTables);
    NDArray k = rotate(heads(qkv.get("..., " + hidden + ":" + 2 * hidden), b, t), rotary, rotaryTables);
    NDArray v = heads(qkv.get("..., " + 2 * hidden + ":"), b, t);
    if (cache != null) {
      k = cache.appendKeys(layer, k);
      v = cache.appendValues(layer, v);
    }
    if (logn != null) {
      q = q.mul(logn.toType(q.getDataType(), false));
    }
    NDArray scores = Scalars.divide(q.matMul(k.transpose(0, 1, 3, 2)), scoreDivisor);
    if (mask != null) {
      scores = scores.add(mask).toType(x.getDataType(), false);
    }
    NDArray context = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, hidden);
    return outputProjection.forward(context);
  }

  private NDArray heads(NDArray projected, long b, long t) {
    return projected.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
  }

  /** Rotary in float32 whatever the activations' precision, cast back, as apply_rotary_pos_emb does. */
  private NDArray rotate(NDArray x, RotaryEmbedding rotary, NDList tables) {
    NDArray x32 = x.toType(DataType.FLOAT32, false);
    NDArray out = rotaryDim == headDim
        ? rotary.apply(x32, tables)
        : NDArrays.concat(new NDList(rotary.apply(x32.get("..., :" + rotaryDim), tables),
            x32.get("..., " + rotaryDim + ":")), -1);
    return out.toType(x.getDataType(), false);
  }
}

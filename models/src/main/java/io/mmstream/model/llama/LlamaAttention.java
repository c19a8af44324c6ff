package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/**
 * Causal multi-head self-attention with rotary positions and (grouped) key/value heads. Scores are
 * divided by {@code sqrt(headDim)} and, with the additive mask, soft-maxed in float32.
 */
public final class LlamaAttention {
  private final Linear queryProjection;
  private final Linear keyProjection;
  private final Linear valueProjection;
  private final Linear outputProjection;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final float scoreDivisor;

  private LlamaAttention(Linear q, Linear k, Linear v, Linear o, LlamaConfig config) {
    this.queryProjection = q;
    this.keyProjection = k;
    this.valueProjection = v;
    this.outputProjection = o;
    this.heads = config.numAttentionHeads();
    this.kvHeads = config.numKeyValueHeads();
    this.headDim = config.headDim();
    this.scoreDivisor = (float) Math.sqrt(headDim);
  }

  public static LlamaAttention load(Weights w, LlamaConfig c) {
    long d = c.hiddenSize();
    long qOut = (long) c.numAttentionHeads() * c.headDim();
    long kvOut = (long) c.numKeyValueHeads() * c.headDim();
    boolean bias = c.attentionBias();
    return new LlamaAttention(
        Linear.load(w.sub("q_proj"), d, qOut, bias),
        Linear.load(w.sub("k_proj"), d, kvOut, bias),
        Linear.load(w.sub("v_proj"), d, kvOut, bias),
        Linear.load(w.sub("o_proj"), qOut, d, bias),
        c);
  }

  /**
   * @param x [B, T, D]
   * @param rotaryTables cos/sin for the T new positions
   * @param mask additive float32 mask [B, 1, T, past + T]
   * @param cache this layer's cached keys/values are extended when non-null
   */
  public NDArray forward(
      NDArray x, RotaryEmbedding rotary, NDList rotaryTables, NDArray mask, LlamaKvCache cache, int layer) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    NDArray q = rotary.apply(heads(queryProjection.forward(x), b, t, heads), rotaryTables);
    NDArray k = rotary.apply(heads(keyProjection.forward(x), b, t, kvHeads), rotaryTables);
    NDArray v = heads(valueProjection.forward(x), b, t, kvHeads);
    if (cache != null) {
      k = cache.appendKeys(layer, k);
      v = cache.appendValues(layer, v);
    }
    k = repeatKv(k);
    v = repeatKv(v);
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(scoreDivisor);
    NDArray probabilities = scores.toType(DataType.FLOAT32, false).add(mask).softmax(-1).toType(x.getDataType(), false);
    NDArray context = probabilities.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
    return outputProjection.forward(context);
  }

  private NDArray heads(NDArray projected, long b, long t, int count) {
    return projected.reshape(b, t, count, headDim).transpose(0, 2, 1, 3);
  }

  /** HF's repeat_kv: each key/value head serves {@code heads / kvHeads} consecutive query heads. */
  private NDArray repeatKv(NDArray kv) {
    if (kvHeads == heads) {
      return kv;
    }
    Shape s = kv.getShape();
    return kv.expandDims(2).repeat(2, heads / kvHeads).reshape(s.get(0), heads, s.get(2), s.get(3));
  }
}

package io.mmstream.model.chatglm;

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
 * ChatGLM's self-attention: one fused {@code query_key_value} whose rows are grouped per head
 * ({@code [q_h; k_h; v_h]} for each head h), 2D rotary positions (the first half of each head's dims rotated by
 * the token position, the second half by the block position), and the layer-scaled scores of
 * {@code attention_fn}: {@code q / (sqrt(hd) * (layer+1)) . k}, masked, times {@code layer+1}, soft-maxed in float32.
 */
public final class GlmAttention {
  private final Linear queryKeyValue;
  private final Linear dense;
  private final int heads;
  private final int headDim;
  private final int layer;
  private final float coefficient;
  private final float queryDivisor;

  private GlmAttention(Linear queryKeyValue, Linear dense, ChatGlmConfig config, int layer) {
    this.queryKeyValue = queryKeyValue;
    this.dense = dense;
    this.heads = config.numAttentionHeads();
    this.headDim = config.headDim();
    this.layer = layer;
    this.coefficient = layer + 1;
    this.queryDivisor = (float) (Math.sqrt(headDim) * coefficient);
  }

  /** Loads {@code query_key_value.*} [3H, H] and {@code dense.*} [H, H] under {@code w} (a layer's {@code attention}). */
  public static GlmAttention load(Weights w, ChatGlmConfig c, int layer) {
    long h = c.hiddenSize();
    return new GlmAttention(
        Linear.load(w.sub("query_key_value"), h, 3 * h, true), Linear.load(w.sub("dense"), h, h, true), c, layer);
  }

  /**
   * @param x {@code [B, T, H]} (the layer-normed input)
   * @param rotary the half-head rotation
   * @param positionTables cos/sin of the token positions, {@code [B, 1, T, hd/2]}
   * @param blockTables cos/sin of the block positions
   * @param mask additive {@code [B|1, 1, T, past + T]}, or null when nothing is masked
   * @param cache extended with this step's rotated keys and values when non-null
   */
  public NDArray forward(NDArray x, RotaryEmbedding rotary, NDList positionTables, NDList blockTables, NDArray mask,
      LlamaKvCache cache) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    NDArray qkv = queryKeyValue.forward(x).reshape(b, t, heads, 3L * headDim).transpose(0, 2, 1, 3);
    NDArray q = rotate(qkv.get("..., :" + headDim), rotary, positionTables, blockTables);
    NDArray k = rotate(qkv.get("..., " + headDim + ":" + 2 * headDim), rotary, positionTables, blockTables);
    NDArray v = qkv.get("..., " + 2 * headDim + ":");
    if (cache != null) {
      k = cache.appendKeys(layer, k);
      v = cache.appendValues(layer, v);
    }
    NDArray scores = Scalars.divide(q, queryDivisor).matMul(k.transpose(0, 1, 3, 2));
    if (mask != null) {
      scores = scores.add(mask.toType(scores.getDataType(), false));
    }
    NDArray probabilities = Scalars.multiply(scores.toType(DataType.FLOAT32, false), coefficient)
        .softmax(-1).toType(x.getDataType(), false);
    NDArray context = probabilities.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
    return dense.forward(context);
  }

  private NDArray rotate(NDArray x, RotaryEmbedding rotary, NDList positionTables, NDList blockTables) {
    int half = headDim / 2;
    NDArray first = rotary.apply(x.get("..., :" + half), positionTables);
    NDArray second = rotary.apply(x.get("..., " + half + ":"), blockTables);
    return NDArrays.concat(new NDList(first, second), -1);
  }
}

package io.mmstream.model.chatglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.llama.RotaryEmbedding;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.Weights;

/**
 * One {@code GLMBlock}: the residual adds the layer-normed input scaled by alpha, not the raw stream:
 * {@code a = LN(x); h = a*alpha + attn(a); m = LN(h); out = m*alpha + mlp(m)}.
 */
public final class GlmBlock {
  private final LayerNorm inputLayerNorm;
  private final GlmAttention attention;
  private final LayerNorm postAttentionLayerNorm;
  private final GlmMlp mlp;
  private final float alpha;

  private GlmBlock(LayerNorm inputLayerNorm, GlmAttention attention, LayerNorm postAttentionLayerNorm, GlmMlp mlp,
      float alpha) {
    this.inputLayerNorm = inputLayerNorm;
    this.attention = attention;
    this.postAttentionLayerNorm = postAttentionLayerNorm;
    this.mlp = mlp;
    this.alpha = alpha;
  }

  /** Loads {@code input_layernorm}, {@code attention}, {@code post_attention_layernorm} and {@code mlp} under {@code w}. */
  public static GlmBlock load(Weights w, ChatGlmConfig c, int layer) {
    return new GlmBlock(
        LayerNorm.load(w.sub("input_layernorm"), c.hiddenSize(), c.layerNormEps()),
        GlmAttention.load(w.sub("attention"), c, layer),
        LayerNorm.load(w.sub("post_attention_layernorm"), c.hiddenSize(), c.layerNormEps()),
        GlmMlp.load(w.sub("mlp"), c),
        c.residualAlpha());
  }

  /** See {@link GlmAttention#forward} for the arguments. */
  public NDArray forward(NDArray x, RotaryEmbedding rotary, NDList positionTables, NDList blockTables, NDArray mask,
      LlamaKvCache cache) {
    NDArray a = inputLayerNorm.forward(x);
    NDArray h = Scalars.multiply(a, alpha).add(attention.forward(a, rotary, positionTables, blockTables, mask, cache));
    NDArray m = postAttentionLayerNorm.forward(h);
    return Scalars.multiply(m, alpha).add(mlp.forward(m));
  }
}

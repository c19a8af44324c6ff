package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.mmstream.model.tensor.Weights;

/** Pre-norm block: {@code h = x + attn(norm(x)); out = h + mlp(norm(h))}. */
public final class LlamaDecoderLayer {
  private final RmsNorm inputNorm;
  private final LlamaAttention attention;
  private final RmsNorm postAttentionNorm;
  private final LlamaMlp mlp;

  private LlamaDecoderLayer(RmsNorm inputNorm, LlamaAttention attention, RmsNorm postAttentionNorm, LlamaMlp mlp) {
    this.inputNorm = inputNorm;
    this.attention = attention;
    this.postAttentionNorm = postAttentionNorm;
    this.mlp = mlp;
  }

  public static LlamaDecoderLayer load(Weights w, LlamaConfig c) {
    return new LlamaDecoderLayer(
        RmsNorm.load(w.sub("input_layernorm"), c.hiddenSize(), c.rmsNormEps()),
        LlamaAttention.load(w.sub("self_attn"), c),
        RmsNorm.load(w.sub("post_attention_layernorm"), c.hiddenSize(), c.rmsNormEps()),
        LlamaMlp.load(w.sub("mlp"), c));
  }

  public NDArray forward(
      NDArray x, RotaryEmbedding rotary, NDList rotaryTables, NDArray mask, LlamaKvCache cache, int layer) {
    NDArray h = x.add(attention.forward(inputNorm.forward(x), rotary, rotaryTables, mask, cache, layer));
    return h.add(mlp.forward(postAttentionNorm.forward(h)));
  }
}

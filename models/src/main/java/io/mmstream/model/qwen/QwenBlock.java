package io.mmstream.model.qwen;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.llama.RmsNorm;
import io.mmstream.model.llama.RotaryEmbedding;
import io.mmstream.model.tensor.Weights;

/** {@code QWenBlock}: {@code h = x + attn(ln_1(x)); out = h + mlp(ln_2(h))} with RMSNorms. */
final class QwenBlock {
  private final RmsNorm attentionNorm;
  private final QwenAttention attention;
  private final RmsNorm mlpNorm;
  private final QwenMlp mlp;

  private QwenBlock(RmsNorm attentionNorm, QwenAttention attention, RmsNorm mlpNorm, QwenMlp mlp) {
    this.attentionNorm = attentionNorm;
    this.attention = attention;
    this.mlpNorm = mlpNorm;
    this.mlp = mlp;
  }

  static QwenBlock load(Weights w, QwenConfig c) {
    return new QwenBlock(
        RmsNorm.load(w.sub("ln_1"), c.hiddenSize(), c.layerNormEpsilon()),
        QwenAttention.load(w.sub("attn"), c),
        RmsNorm.load(w.sub("ln_2"), c.hiddenSize(), c.layerNormEpsilon()),
        QwenMlp.load(w.sub("mlp"), c));
  }

  NDArray forward(NDArray x, RotaryEmbedding rotary, NDList tables, NDArray logn, NDArray mask, LlamaKvCache cache,
      int layer) {
    NDArray h = x.add(attention.forward(attentionNorm.forward(x), rotary, tables, logn, mask, cache, layer));
    return h.add(mlp.forward(mlpNorm.forward(h)));
  }
}

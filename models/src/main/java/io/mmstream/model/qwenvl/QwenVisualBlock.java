package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** visual.py's {@code VisualAttentionBlock}: pre-LN, {@code x += attn(ln_1(x)); x += c_proj(gelu(c_fc(ln_2(x))))}. */
final class QwenVisualBlock {
  private final LayerNorm attentionNorm;
  private final QwenVisualAttention attention;
  private final LayerNorm mlpNorm;
  private final Linear fc;
  private final Linear projection;

  private QwenVisualBlock(LayerNorm attentionNorm, QwenVisualAttention attention, LayerNorm mlpNorm, Linear fc,
      Linear projection) {
    this.attentionNorm = attentionNorm;
    this.attention = attention;
    this.mlpNorm = mlpNorm;
    this.fc = fc;
    this.projection = projection;
  }

  static QwenVisualBlock load(Weights w, QwenVisualConfig c) {
    long d = c.width();
    long f = c.mlpWidth();
    return new QwenVisualBlock(
        LayerNorm.load(w.sub("ln_1"), d, QwenVisualConfig.LAYER_NORM_EPS),
        QwenVisualAttention.load(w.sub("attn"), c),
        LayerNorm.load(w.sub("ln_2"), d, QwenVisualConfig.LAYER_NORM_EPS),
        Linear.load(w.sub("mlp").sub("c_fc"), d, f, true),
        Linear.load(w.sub("mlp").sub("c_proj"), f, d, true));
  }

  NDArray forward(NDArray x) {
    NDArray h = x.add(attention.forward(attentionNorm.forward(x)));
    return h.add(projection.forward(Activation.GELU.apply(fc.forward(mlpNorm.forward(h)))));
  }
}

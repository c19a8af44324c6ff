package io.mmstream.model.opt;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** One OPT block: self-attention and {@code fc2(act(fc1 x))}, each with its LayerNorm before (pre-LN) or after. */
final class OptDecoderLayer {
  private final OptAttention attention;
  private final LayerNorm attentionLayerNorm;
  private final Linear fc1;
  private final Linear fc2;
  private final LayerNorm finalLayerNorm;
  private final Activation activation;
  private final boolean preNorm;

  private OptDecoderLayer(OptAttention attention, LayerNorm attentionLayerNorm, Linear fc1, Linear fc2,
      LayerNorm finalLayerNorm, OptConfig c) {
    this.attention = attention;
    this.attentionLayerNorm = attentionLayerNorm;
    this.fc1 = fc1;
    this.fc2 = fc2;
    this.finalLayerNorm = finalLayerNorm;
    this.activation = c.activation();
    this.preNorm = c.doLayerNormBefore();
  }

  static OptDecoderLayer load(Weights w, OptConfig c) {
    int d = c.hiddenSize();
    return new OptDecoderLayer(
        OptAttention.load(w.sub("self_attn"), c),
        LayerNorm.load(w.sub("self_attn_layer_norm"), d, OptConfig.LAYER_NORM_EPS),
        Linear.load(w.sub("fc1"), d, c.ffnDim(), c.enableBias()),
        Linear.load(w.sub("fc2"), c.ffnDim(), d, c.enableBias()),
        LayerNorm.load(w.sub("final_layer_norm"), d, OptConfig.LAYER_NORM_EPS),
        c);
  }

  NDArray forward(NDArray x, NDArray mask, LlamaKvCache cache, int layer) {
    NDArray h = x.add(attention.forward(preNorm ? attentionLayerNorm.forward(x) : x, mask, cache, layer));
    if (!preNorm) {
      h = attentionLayerNorm.forward(h);
    }
    NDArray ffnInput = preNorm ? finalLayerNorm.forward(h) : h;
    NDArray out = h.add(fc2.forward(activation.apply(fc1.forward(ffnInput))));
    return preNorm ? out : finalLayerNorm.forward(out);
  }
}

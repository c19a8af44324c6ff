package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.tensor.Weights;

/** A pre-LN residual block: {@code x + attn(ln1(x))}, then {@code h + mlp(ln2(h))}. */
final class ClipEncoderLayer {
  private final LayerNorm layerNorm1;
  private final ClipAttention selfAttention;
  private final LayerNorm layerNorm2;
  private final ClipMlp mlp;

  private ClipEncoderLayer(LayerNorm layerNorm1, ClipAttention selfAttention, LayerNorm layerNorm2, ClipMlp mlp) {
    this.layerNorm1 = layerNorm1;
    this.selfAttention = selfAttention;
    this.layerNorm2 = layerNorm2;
    this.mlp = mlp;
  }

  static ClipEncoderLayer load(
      Weights w, int hiddenSize, int intermediateSize, int numHeads, Activation activation, double eps) {
    return new ClipEncoderLayer(
        LayerNorm.load(w.sub("layer_norm1"), hiddenSize, eps),
        ClipAttention.load(w.sub("self_attn"), hiddenSize, numHeads),
        LayerNorm.load(w.sub("layer_norm2"), hiddenSize, eps),
        ClipMlp.load(w.sub("mlp"), hiddenSize, intermediateSize, activation));
  }

  NDArray forward(NDArray x, NDArray mask) {
    NDArray h = x.add(selfAttention.forward(layerNorm1.forward(x), mask));
    // Out of place: layer_norm2 keeps h for its backward pass when the model trains.
    return h.add(mlp.forward(layerNorm2.forward(h)));
  }
}

package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** A pre-LayerNorm ViT block: {@code x + attn(ln1 x)}, then {@code x + fc2(act(fc1(ln2 x)))}. */
public final class BlipVisionEncoderLayer {
  private final LayerNorm layerNorm1;
  private final BlipVisionAttention selfAttention;
  private final LayerNorm layerNorm2;
  private final Linear fc1;
  private final Linear fc2;
  private final Activation activation;

  public BlipVisionEncoderLayer(
      LayerNorm layerNorm1,
      BlipVisionAttention selfAttention,
      LayerNorm layerNorm2,
      Linear fc1,
      Linear fc2,
      Activation activation) {
    this.layerNorm1 = layerNorm1;
    this.selfAttention = selfAttention;
    this.layerNorm2 = layerNorm2;
    this.fc1 = fc1;
    this.fc2 = fc2;
    this.activation = activation;
  }

  /** Loads {@code layer_norm1}, {@code self_attn}, {@code layer_norm2} and {@code mlp.fc1/fc2} under {@code w}. */
  public static BlipVisionEncoderLayer load(Weights w, BlipVisionConfig config) {
    int c = config.hiddenSize();
    return new BlipVisionEncoderLayer(
        LayerNorm.load(w.sub("layer_norm1"), c, config.layerNormEps()),
        BlipVisionAttention.load(w.sub("self_attn"), c, config.numAttentionHeads()),
        LayerNorm.load(w.sub("layer_norm2"), c, config.layerNormEps()),
        Linear.load(w.sub("mlp").sub("fc1"), c, config.intermediateSize(), true),
        Linear.load(w.sub("mlp").sub("fc2"), config.intermediateSize(), c, true),
        config.hiddenAct());
  }

  public NDArray forward(NDArray x) {
    NDArray h = x.add(selfAttention.forward(layerNorm1.forward(x)));
    return h.add(fc2.forward(activation.apply(fc1.forward(layerNorm2.forward(h)))));
  }
}

package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.WeightException;
import io.mmstream.model.tensor.Weights;
import java.util.Optional;

/**
 * BERT's LM prediction head ({@code cls.predictions}): dense, activation, LayerNorm, then the
 * vocabulary projection. The projection weight is tied to the word embeddings and its bias to
 * {@code cls.predictions.bias}; checkpoints may or may not store the tied copies.
 */
public final class BlipLmHead {
  private final Linear transform;
  private final Activation activation;
  private final LayerNorm layerNorm;
  private final Linear decoder;

  public BlipLmHead(Linear transform, Activation activation, LayerNorm layerNorm, Linear decoder) {
    this.transform = transform;
    this.activation = activation;
    this.layerNorm = layerNorm;
    this.decoder = decoder;
  }

  /**
   * Loads under {@code w} (e.g. {@code text_decoder.cls.predictions}): {@code decoder.weight} when
   * present, else {@code wordEmbeddings}; {@code decoder.bias} when present, else {@code bias}.
   */
  public static BlipLmHead load(Weights w, BlipTextConfig config, NDArray wordEmbeddings) {
    int h = config.hiddenSize();
    int v = config.vocabSize();
    NDArray weight = w.find("decoder.weight", v, h).orElse(wordEmbeddings);
    Optional<NDArray> bias = w.find("bias", v);
    Optional<NDArray> decoderBias = w.find("decoder.bias", v);
    if (bias.isEmpty() && decoderBias.isEmpty()) {
      throw new WeightException(
          w.store().describe() + ": missing tensor '" + w.key("bias") + "' (expected shape [" + v + "]), nor is '"
              + w.key("decoder.bias") + "' present");
    }
    return new BlipLmHead(
        Linear.load(w.sub("transform").sub("dense"), h, h, true),
        config.hiddenAct(),
        LayerNorm.load(w.sub("transform").sub("LayerNorm"), h, config.layerNormEps()),
        new Linear(weight, decoderBias.orElseGet(bias::get)));
  }

  /** Hidden states {@code [..., H]} to vocabulary logits {@code [..., V]}. */
  public NDArray forward(NDArray hidden) {
    return decoder.forward(layerNorm.forward(activation.apply(transform.forward(hidden))));
  }
}

package io.mmstream.model.t5;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.llama.RmsNorm;
import io.mmstream.model.tensor.Weights;

/**
 * One T5 block, pre-norm with T5's RMS LayerNorm (no mean, no bias): self-attention ({@code layer.0}), in the decoder
 * cross-attention over the encoder output ({@code layer.1}), and the feed-forward (last layer).
 */
final class T5Block {
  private final T5Attention selfAttention;
  private final RmsNorm selfAttentionNorm;
  private final T5Attention crossAttention;
  private final RmsNorm crossAttentionNorm;
  private final T5FeedForward feedForward;
  private final RmsNorm feedForwardNorm;

  private T5Block(T5Attention selfAttention, RmsNorm selfAttentionNorm, T5Attention crossAttention,
      RmsNorm crossAttentionNorm, T5FeedForward feedForward, RmsNorm feedForwardNorm) {
    this.selfAttention = selfAttention;
    this.selfAttentionNorm = selfAttentionNorm;
    this.crossAttention = crossAttention;
    this.crossAttentionNorm = crossAttentionNorm;
    this.feedForward = feedForward;
    this.feedForwardNorm = feedForwardNorm;
  }

  /** Loads {@code layer.0..2} under {@code w} ({@code encoder.block.i} or {@code decoder.block.i}). */
  static T5Block load(Weights w, T5Config c, boolean decoder, boolean first) {
    Weights layer = w.sub("layer");
    int d = c.dModel();
    double eps = c.layerNormEpsilon();
    int ff = decoder ? 2 : 1;
    return new T5Block(
        T5Attention.load(layer.sub(0).sub("SelfAttention"), c, first),
        RmsNorm.load(layer.sub(0).sub("layer_norm"), d, eps),
        decoder ? T5Attention.load(layer.sub(1).sub("EncDecAttention"), c, false) : null,
        decoder ? RmsNorm.load(layer.sub(1).sub("layer_norm"), d, eps) : null,
        T5FeedForward.load(layer.sub(ff).sub("DenseReluDense"), c),
        RmsNorm.load(layer.sub(ff).sub("layer_norm"), d, eps));
  }

  T5Attention selfAttention() {
    return selfAttention;
  }

  T5Attention crossAttention() {
    return crossAttention;
  }

  /** Encoder block: {@code biasAndMask} is the shared position bias plus the padding mask. */
  NDArray encode(NDArray x, NDArray biasAndMask) {
    NDArray normed = selfAttentionNorm.forward(x);
    NDArray h = x.add(selfAttention.attend(normed, selfAttention.keys(normed), selfAttention.values(normed),
        biasAndMask));
    return h.add(feedForward.forward(feedForwardNorm.forward(h)));
  }

  /**
   * Decoder block over new positions {@code x}; the self-attention keys/values join {@code cache}'s layer
   * {@code layer} (null: none kept).
   */
  NDArray decode(NDArray x, NDArray selfBiasAndMask, LlamaKvCache cache, int layer, NDArray crossKeys,
      NDArray crossValues, NDArray crossMask) {
    NDArray normed = selfAttentionNorm.forward(x);
    NDArray keys = selfAttention.keys(normed);
    NDArray values = selfAttention.values(normed);
    if (cache != null) {
      keys = cache.appendKeys(layer, keys);
      values = cache.appendValues(layer, values);
    }
    NDArray h = x.add(selfAttention.attend(normed, keys, values, selfBiasAndMask));
    h = h.add(crossAttention.attend(crossAttentionNorm.forward(h), crossKeys, crossValues, crossMask));
    return h.add(feedForward.forward(feedForwardNorm.forward(h)));
  }
}

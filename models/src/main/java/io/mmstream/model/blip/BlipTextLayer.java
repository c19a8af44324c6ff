package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/**
 * One BERT layer of med.py: self-attention, optional cross-attention to encoder states, then the
 * feed-forward block, each with a post-LN residual output.
 */
public final class BlipTextLayer {

  /** The layer's output and the self-attention keys/values over all positions seen so far. */
  public record Output(NDArray hidden, AttentionKeyValues selfKeyValues) {}

  private final BlipTextAttention attention;
  private final BlipTextAttention crossAttention;
  private final Linear intermediate;
  private final Activation activation;
  private final Linear outputDense;
  private final LayerNorm outputLayerNorm;

  public BlipTextLayer(
      BlipTextAttention attention,
      BlipTextAttention crossAttention,
      Linear intermediate,
      Activation activation,
      Linear outputDense,
      LayerNorm outputLayerNorm) {
    this.attention = attention;
    this.crossAttention = crossAttention;
    this.intermediate = intermediate;
    this.activation = activation;
    this.outputDense = outputDense;
    this.outputLayerNorm = outputLayerNorm;
  }

  /**
   * Loads {@code attention}, {@code crossattention} (when {@code crossWidth > 0}: the width of the
   * states it reads), {@code intermediate.dense} and {@code output.{dense,LayerNorm}} under {@code w}.
   */
  public static BlipTextLayer load(Weights w, BlipTextConfig config, int crossWidth) {
    int h = config.hiddenSize();
    int heads = config.numAttentionHeads();
    double eps = config.layerNormEps();
    return new BlipTextLayer(
        BlipTextAttention.load(w.sub("attention"), h, h, heads, eps),
        crossWidth > 0 ? BlipTextAttention.load(w.sub("crossattention"), h, crossWidth, heads, eps) : null,
        Linear.load(w.sub("intermediate").sub("dense"), h, config.intermediateSize(), true),
        config.hiddenAct(),
        Linear.load(w.sub("output").sub("dense"), config.intermediateSize(), h, true),
        LayerNorm.load(w.sub("output").sub("LayerNorm"), h, eps));
  }

  /** Cross-attention keys/values of {@code encoderStates}, computed once per image or question. */
  public AttentionKeyValues crossKeyValues(NDArray encoderStates) {
    if (crossAttention == null) {
      throw new IllegalStateException("this layer has no cross-attention");
    }
    BlipTextSelfAttention a = crossAttention.attention();
    return new AttentionKeyValues(a.keys(encoderStates), a.values(encoderStates));
  }

  /**
   * @param x {@code [B, L, H]}, the new positions
   * @param selfMask additive, broadcast to {@code [B, heads, L, past+L]}, or null
   * @param past self-attention keys/values of earlier positions (KV cache), or null
   * @param cross cross-attention keys/values, or null for a layer without cross-attention
   * @param crossMask additive, broadcast to {@code [B, heads, L, S]}, or null
   */
  public Output forward(
      NDArray x, NDArray selfMask, AttentionKeyValues past, AttentionKeyValues cross, NDArray crossMask) {
    BlipTextSelfAttention self = attention.attention();
    NDArray keys = self.keys(x);
    NDArray values = self.values(x);
    if (past != null) {
      keys = past.keys().concat(keys, 2);
      values = past.values().concat(values, 2);
    }
    NDArray h = attention.output(self.attend(self.queries(x), keys, values, selfMask), x);
    if (crossAttention != null) {
      if (cross == null) {
        throw new IllegalArgumentException("a cross-attention layer needs encoder states");
      }
      BlipTextSelfAttention c = crossAttention.attention();
      h = crossAttention.output(c.attend(c.queries(h), cross.keys(), cross.values(), crossMask), h);
    }
    NDArray out = outputLayerNorm.forward(outputDense.forward(activation.apply(intermediate.forward(h))).add(h));
    return new Output(out, new AttentionKeyValues(keys, values));
  }
}

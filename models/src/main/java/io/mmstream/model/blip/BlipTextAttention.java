package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** An attention block with BERT's post-LN output: {@code LayerNorm(dense(attention) + input)}. */
public final class BlipTextAttention {
  private final BlipTextSelfAttention attention;
  private final Linear outputDense;
  private final LayerNorm outputLayerNorm;

  public BlipTextAttention(BlipTextSelfAttention attention, Linear outputDense, LayerNorm outputLayerNorm) {
    this.attention = attention;
    this.outputDense = outputDense;
    this.outputLayerNorm = outputLayerNorm;
  }

  /** Loads {@code self.*} and {@code output.{dense,LayerNorm}} under {@code w}. */
  public static BlipTextAttention load(Weights w, int hiddenSize, int keyValueWidth, int heads, double eps) {
    return new BlipTextAttention(
        BlipTextSelfAttention.load(w.sub("self"), hiddenSize, keyValueWidth, heads),
        Linear.load(w.sub("output").sub("dense"), hiddenSize, hiddenSize, true),
        LayerNorm.load(w.sub("output").sub("LayerNorm"), hiddenSize, eps));
  }

  public BlipTextSelfAttention attention() {
    return attention;
  }

  /** The output sub-layer applied to {@code context} with the residual {@code input}. */
  public NDArray output(NDArray context, NDArray input) {
    return outputLayerNorm.forward(outputDense.forward(context).add(input));
  }
}

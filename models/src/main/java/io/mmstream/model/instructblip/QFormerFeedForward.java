package io.mmstream.model.instructblip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** BERT's feed-forward with post-LN residual: {@code LayerNorm(dense2(act(dense1 x)) + x)}. */
final class QFormerFeedForward {
  private final Linear intermediate;
  private final Activation activation;
  private final Linear output;
  private final LayerNorm outputLayerNorm;

  private QFormerFeedForward(Linear intermediate, Activation activation, Linear output, LayerNorm outputLayerNorm) {
    this.intermediate = intermediate;
    this.activation = activation;
    this.output = output;
    this.outputLayerNorm = outputLayerNorm;
  }

  /** Loads {@code <intermediateName>.dense} and {@code <outputName>.{dense,LayerNorm}} under {@code w}. */
  static QFormerFeedForward load(Weights w, String intermediateName, String outputName, InstructBlipQFormerConfig c) {
    int h = c.hiddenSize();
    int f = c.intermediateSize();
    return new QFormerFeedForward(
        Linear.load(w.sub(intermediateName).sub("dense"), h, f, true),
        c.hiddenAct(),
        Linear.load(w.sub(outputName).sub("dense"), f, h, true),
        LayerNorm.load(w.sub(outputName).sub("LayerNorm"), h, c.layerNormEps()));
  }

  NDArray forward(NDArray x) {
    return outputLayerNorm.forward(output.forward(activation.apply(intermediate.forward(x))).add(x));
  }
}

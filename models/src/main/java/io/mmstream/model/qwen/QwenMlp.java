package io.mmstream.model.qwen;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** {@code QWenMLP}: {@code c_proj(w1(x) * silu(w2(x)))}; the gate is {@code w2}, not {@code w1}. */
final class QwenMlp {
  private final Linear w1;
  private final Linear w2;
  private final Linear outputProjection;

  private QwenMlp(Linear w1, Linear w2, Linear outputProjection) {
    this.w1 = w1;
    this.w2 = w2;
    this.outputProjection = outputProjection;
  }

  static QwenMlp load(Weights w, QwenConfig c) {
    long d = c.hiddenSize();
    long f = c.mlpWidth();
    boolean bias = !c.noBias();
    return new QwenMlp(
        Linear.load(w.sub("w1"), d, f, bias), Linear.load(w.sub("w2"), d, f, bias),
        Linear.load(w.sub("c_proj"), f, d, bias));
  }

  NDArray forward(NDArray x) {
    return outputProjection.forward(w1.forward(x).mul(Activation.SILU.apply(w2.forward(x))));
  }
}

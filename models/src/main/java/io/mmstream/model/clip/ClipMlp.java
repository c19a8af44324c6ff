package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** {@code fc2(act(fc1(x)))}: openai's {@code c_fc} / {@code c_proj}. */
final class ClipMlp {
  private final Linear fc1;
  private final Linear fc2;
  private final Activation activation;

  private ClipMlp(Linear fc1, Linear fc2, Activation activation) {
    this.fc1 = fc1;
    this.fc2 = fc2;
    this.activation = activation;
  }

  static ClipMlp load(Weights w, int hiddenSize, int intermediateSize, Activation activation) {
    return new ClipMlp(
        Linear.load(w.sub("fc1"), hiddenSize, intermediateSize, true),
        Linear.load(w.sub("fc2"), intermediateSize, hiddenSize, true),
        activation);
  }

  NDArray forward(NDArray x) {
    return fc2.forward(activation.apply(fc1.forward(x)));
  }
}

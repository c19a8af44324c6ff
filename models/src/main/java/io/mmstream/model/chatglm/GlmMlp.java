package io.mmstream.model.chatglm;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** ChatGLM's MLP: {@code dense_4h_to_h(gelu_tanh(dense_h_to_4h x))}, no gate. */
public final class GlmMlp {
  private final Linear up;
  private final Linear down;

  private GlmMlp(Linear up, Linear down) {
    this.up = up;
    this.down = down;
  }

  public static GlmMlp load(Weights w, ChatGlmConfig c) {
    return new GlmMlp(
        Linear.load(w.sub("dense_h_to_4h"), c.hiddenSize(), c.innerHiddenSize(), true),
        Linear.load(w.sub("dense_4h_to_h"), c.innerHiddenSize(), c.hiddenSize(), true));
  }

  public NDArray forward(NDArray x) {
    return down.forward(Activation.GELU_TANH.apply(up.forward(x)));
  }
}

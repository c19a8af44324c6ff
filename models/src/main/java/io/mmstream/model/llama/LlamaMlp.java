package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** SwiGLU feed-forward: {@code down(silu(gate(x)) * up(x))}. */
public final class LlamaMlp {
  private final Linear gate;
  private final Linear up;
  private final Linear down;

  private LlamaMlp(Linear gate, Linear up, Linear down) {
    this.gate = gate;
    this.up = up;
    this.down = down;
  }

  public static LlamaMlp load(Weights w, LlamaConfig c) {
    long d = c.hiddenSize();
    long f = c.intermediateSize();
    return new LlamaMlp(
        Linear.load(w.sub("gate_proj"), d, f, c.mlpBias()),
        Linear.load(w.sub("up_proj"), d, f, c.mlpBias()),
        Linear.load(w.sub("down_proj"), f, d, c.mlpBias()));
  }

  public NDArray forward(NDArray x) {
    return down.forward(Activation.SILU.apply(gate.forward(x)).mul(up.forward(x)));
  }
}

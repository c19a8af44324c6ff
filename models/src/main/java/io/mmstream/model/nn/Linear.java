package io.mmstream.model.nn;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.tensor.Weights;

/** {@code y = x W^T + b} with HF's {@code [out, in]} weight layout; runs as one fused engine op. */
public final class Linear {
  private final NDArray weight;
  private final NDArray bias;

  public Linear(NDArray weight, NDArray bias) {
    this.weight = weight;
    this.bias = bias;
  }

  /** Loads {@code weight} [out, in] and, when {@code withBias}, {@code bias} [out] under {@code w}. */
  public static Linear load(Weights w, long in, long out, boolean withBias) {
    NDArray weight = w.get("weight", out, in);
    NDArray bias = withBias ? w.get("bias", out) : null;
    return new Linear(weight, bias);
  }

  public NDArray forward(NDArray x) {
    return ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
  }

  public NDArray weight() {
    return weight;
  }

  public NDArray bias() {
    return bias;
  }
}

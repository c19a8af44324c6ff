package io.mmstream.model.nn;

import ai.djl.ndarray.NDArray;
import java.util.Locale;

/** The activations HF configs name in {@code hidden_act}. */
public enum Activation {
  /** Exact {@code 0.5 x (1 + erf(x / sqrt 2))}. */
  GELU,
  /** The tanh approximation {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} (HF gelu_new; T5, ChatGLM). */
  GELU_TANH,
  /** OpenAI CLIP's {@code x * sigmoid(1.702 x)}. */
  QUICK_GELU,
  /** {@code x * sigmoid(x)} (LLaMA's SwiGLU gate). */
  SILU,
  /** {@code max(x, 0)} (OPT). */
  RELU;

  public static Activation fromConfig(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "gelu" -> GELU;
      case "gelu_new", "gelu_pytorch_tanh" -> GELU_TANH;
      case "quick_gelu" -> QUICK_GELU;
      case "silu", "swish" -> SILU;
      case "relu" -> RELU;
      default -> throw new IllegalArgumentException("unsupported hidden_act '" + name + "'");
    };
  }

  /** Out of place throughout: autograd needs the sigmoid's output intact for the backward pass. */
  public NDArray apply(NDArray x) {
    return switch (this) {
      case GELU -> ai.djl.nn.Activation.gelu(x);
      case GELU_TANH -> geluTanh(x);
      case QUICK_GELU -> ai.djl.nn.Activation.sigmoid(Scalars.multiply(x, 1.702f)).mul(x);
      case SILU -> ai.djl.nn.Activation.sigmoid(x).mul(x);
      case RELU -> ai.djl.nn.Activation.relu(x);
    };
  }

  /** DJL's gelu is the erf form only; the tanh form written out as ChatGLM's {@code gelu_impl} computes it. */
  private static NDArray geluTanh(NDArray x) {
    NDArray inner = Scalars.multiply(Scalars.multiply(x.mul(x), 0.044715f).add(1f).mul(x), 0.7978845608028654f);
    return Scalars.multiply(inner.tanh().add(1f).mul(x), 0.5f);
  }
}

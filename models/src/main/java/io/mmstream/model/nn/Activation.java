package io.mmstream.model.nn;

import ai.djl.ndarray.NDArray;
import java.util.Locale;

/** The activations HF configs name in {@code hidden_act}. */
public enum Activation {
  /** Exact {@code 0.5 x (1 + erf(x / sqrt 2))}. */
  GELU,
  /** OpenAI CLIP's {@code x * sigmoid(1.702 x)}. */
  QUICK_GELU,
  /** {@code x * sigmoid(x)} (LLaMA's SwiGLU gate). */
  SILU,
  /** {@code max(x, 0)} (OPT). */
  RELU,
  /** The tanh approximation {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} (HF {@code gelu_new}). */
  GELU_NEW;

  public static Activation fromConfig(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "gelu" -> GELU;
      case "quick_gelu" -> QUICK_GELU;
      case "silu", "swish" -> SILU;
      case "relu" -> RELU;
      case "gelu_new", "gelu_pytorch_tanh" -> GELU_NEW;
      default -> throw new IllegalArgumentException("unsupported hidden_act '" + name + "'");
    };
  }

  /** Out of place throughout: autograd needs the sigmoid's output intact for the backward pass. */
  public NDArray apply(NDArray x) {
    return switch (this) {
      case GELU -> ai.djl.nn.Activation.gelu(x);
      case QUICK_GELU -> ai.djl.nn.Activation.sigmoid(Scalars.multiply(x, 1.702f)).mul(x);
      case SILU -> ai.djl.nn.Activation.sigmoid(x).mul(x);
      case RELU -> ai.djl.nn.Activation.relu(x);
      case GELU_NEW -> x.pow(3).mul(0.044715f).add(x).mul((float) Math.sqrt(2 / Math.PI)).tanh().add(1f).mul(x).mul(0.5f);
    };
  }
}

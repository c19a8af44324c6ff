package io.mmstream.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Multiplying or dividing by a constant in a way autograd can differentiate.
 *
 * <p>DJL's {@code mul(Number)}/{@code div(Number)} wrap the number in an array over Java memory and
 * close it straight after the op; autograd keeps that operand for the backward pass of mul and div,
 * which would then read freed memory. Here the constant is an engine-allocated 0-d array, which the
 * tape keeps alive for as long as it needs. Forward results are identical to the Number forms.
 */
public final class Scalars {
  private Scalars() {}

  public static NDArray multiply(NDArray x, float factor) {
    try (NDArray constant = constant(x, factor)) {
      return x.mul(constant);
    }
  }

  public static NDArray divide(NDArray x, float divisor) {
    try (NDArray constant = constant(x, divisor)) {
      return x.div(constant);
    }
  }

  private static NDArray constant(NDArray like, float value) {
    return like.getManager().full(new Shape(), value, like.getDataType());
  }
}

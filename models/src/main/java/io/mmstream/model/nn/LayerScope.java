package io.mmstream.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.function.UnaryOperator;

/**
 * Runs one step of a forward pass so that its intermediates are freed as soon as it returns.
 *
 * <p>Engine ops attach their result to the manager of their first operand; the input is attached
 * to a sub-manager for the duration of {@code body}, so everything derived from it lands there and
 * is closed with it, and only the returned array moves back to the input's manager. Without this a
 * deep tower would keep every layer's activations alive until the whole call ends.
 */
public final class LayerScope {
  private LayerScope() {}

  public static NDArray apply(NDArray input, UnaryOperator<NDArray> body) {
    NDManager parent = input.getManager();
    try (NDManager scope = parent.newSubManager()) {
      input.tempAttach(scope);
      NDArray output = body.apply(input);
      output.attach(parent);
      return output;
    }
  }
}

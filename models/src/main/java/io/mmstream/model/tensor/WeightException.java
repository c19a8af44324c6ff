package io.mmstream.model.tensor;

/** A checkpoint that does not fit the model: a missing, unexpected or mis-shaped tensor. */
public class WeightException extends RuntimeException {
  public WeightException(String message) {
    super(message);
  }

  public WeightException(String message, Throwable cause) {
    super(message, cause);
  }
}

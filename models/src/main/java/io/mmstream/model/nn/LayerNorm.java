package io.mmstream.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.tensor.Weights;

/** LayerNorm over the last axis with learned {@code weight} and {@code bias}. */
public final class LayerNorm {
  private final NDArray weight;
  private final NDArray bias;
  private final float eps;
  private final Shape normalizedShape;

  public LayerNorm(NDArray weight, NDArray bias, float eps) {
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
    this.normalizedShape = new Shape(weight.getShape().get(0));
  }

  public static LayerNorm load(Weights w, long dim, double eps) {
    return new LayerNorm(w.get("weight", dim), w.get("bias", dim), (float) eps);
  }

  public NDArray forward(NDArray x) {
    return ai.djl.nn.norm.LayerNorm.layerNorm(x, normalizedShape, weight, bias, eps).singletonOrThrow();
  }
}

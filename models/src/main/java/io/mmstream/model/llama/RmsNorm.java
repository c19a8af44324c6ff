package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.tensor.Weights;

/**
 * LLaMA's RMSNorm: {@code x / sqrt(mean(x^2) + eps)} computed in float32 whatever the model's
 * precision (as Meta's and HF's code do), cast back, then scaled by {@code weight}.
 */
public final class RmsNorm {
  private final NDArray weight;
  private final float eps;

  public RmsNorm(NDArray weight, double eps) {
    this.weight = weight;
    this.eps = (float) eps;
  }

  public static RmsNorm load(Weights w, long dim, double eps) {
    return new RmsNorm(w.get("weight", dim), eps);
  }

  public NDArray forward(NDArray x) {
    NDArray x32 = x.toType(DataType.FLOAT32, false);
    NDArray normed = x32.div(x32.square().mean(new int[] {-1}, true).add(eps).sqrt());
    return normed.toType(x.getDataType(), false).mul(weight);
  }
}

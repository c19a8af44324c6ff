package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Rotary position embedding in Hugging Face's {@code rotate_half} form: dimension {@code j} is
 * rotated with {@code j + headDim/2}. HF checkpoints store q_proj/k_proj rows permuted so that this
 * equals Meta's interleaved-pair rotation on the original weights; reading HF weights therefore
 * requires exactly this form.
 */
public final class RotaryEmbedding {
  private final NDArray inverseFrequencies;
  private final int half;

  public RotaryEmbedding(NDManager manager, int headDim, double theta) {
    this(manager, inverseFrequencies(headDim, theta, false));
  }

  /**
   * @param float32Frequencies form {@code 1 / theta ** (arange(0, dim, 2).float() / dim)} in float32 arithmetic, as
   *     Qwen's remote code does, instead of in double and rounded once
   */
  public RotaryEmbedding(NDManager manager, int headDim, double theta, boolean float32Frequencies) {
    this(manager, inverseFrequencies(headDim, theta, float32Frequencies));
  }

  /** A rotation over given inverse frequencies (one per pair; ChatGLM rounds them to float16 first). */
  public RotaryEmbedding(NDManager manager, float[] inverseFrequencies) {
    this.half = inverseFrequencies.length;
    this.inverseFrequencies = manager.create(inverseFrequencies);
  }

  /** {@code 1 / theta^(2j / headDim)} for {@code j < headDim / 2}. */
  public static float[] inverseFrequencies(int headDim, double theta) {
    return inverseFrequencies(headDim, theta, false);
  }

  private static float[] inverseFrequencies(int headDim, double theta, boolean float32Arithmetic) {
    float[] inv = new float[headDim / 2];
    for (int j = 0; j < inv.length; j++) {
      inv[j] = float32Arithmetic
          ? 1f / (float) Math.pow((float) theta, (float) (2 * j) / (float) headDim)
          : (float) (1.0 / Math.pow(theta, (2.0 * j) / headDim));
    }
    return inv;
  }

  /**
   * The cos and sin tables for {@code positions} [B, T] (integer), each [B, 1, T, headDim] in
   * {@code type}; angles are formed in float32 as the reference implementations do.
   */
  public NDList tables(NDArray positions, DataType type) {
    NDArray angles = positions.toType(DataType.FLOAT32, false).expandDims(-1).mul(inverseFrequencies);
    NDArray full = NDArrays.concat(new NDList(angles, angles), -1).expandDims(1);
    return new NDList(full.cos().toType(type, false), full.sin().toType(type, false));
  }

  /** {@code x * cos + rotate_half(x) * sin} for x [B, H, T, headDim]. */
  public NDArray apply(NDArray x, NDList tables) {
    NDArray first = x.get("..., :" + half);
    NDArray second = x.get("..., " + half + ":");
    NDArray rotated = NDArrays.concat(new NDList(second.neg(), first), -1);
    return x.mul(tables.get(0)).add(rotated.mul(tables.get(1)));
  }
}

package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * visual.py's {@code get_abs_pos}: a table of {@code s*s} rows read as an s x s grid and resized to t x t with torch's
 * {@code interpolate(mode="bicubic", align_corners=False)} (cubic A = -0.75, no antialias, edge taps clamped), in
 * float32; unchanged when the sizes agree. Written out here because DJL's only route to it, the image
 * {@code resize(..., BICUBIC)} binding, gave a table 5e-2 away from torch's (measured); the tables are small and built
 * once per call.
 */
final class PositionTables {
  private static final float A = -0.75f;

  private PositionTables() {}

  /** {@code table} [s*s, D] to [tokens, D] where {@code tokens} is a square. */
  static NDArray resize(NDArray table, long tokens) {
    int source = side(table.getShape().get(0));
    int target = side(tokens);
    if (source == target) {
      return table;
    }
    int dim = (int) table.getShape().get(1);
    float[] in = table.toType(DataType.FLOAT32, false).toFloatArray();
    int[][] taps = new int[target][4];
    float[][] weights = new float[target][4];
    float scale = (float) source / target;
    for (int o = 0; o < target; o++) {
      float real = scale * (o + 0.5f) - 0.5f;
      int floor = (int) Math.floor(real);
      float t = Math.min(Math.max(real - floor, 0f), 1f);
      weights[o] = coefficients(t);
      for (int j = 0; j < 4; j++) {
        taps[o][j] = Math.min(Math.max(floor - 1 + j, 0), source - 1);
      }
    }
    float[] out = new float[target * target * dim];
    for (int y = 0; y < target; y++) {
      for (int x = 0; x < target; x++) {
        for (int c = 0; c < dim; c++) {
          float value = 0f;
          for (int i = 0; i < 4; i++) {
            int row = taps[y][i] * source;
            float along = 0f;
            for (int j = 0; j < 4; j++) {
              along += in[(row + taps[x][j]) * dim + c] * weights[x][j];
            }
            value += along * weights[y][i];
          }
          out[(y * target + x) * dim + c] = value;
        }
      }
    }
    return table.getManager().create(out, new Shape(tokens, dim)).toType(table.getDataType(), false);
  }

  /** torch's {@code get_cubic_upsample_coefficients} for the fraction {@code t}. */
  private static float[] coefficients(float t) {
    return new float[] {cubicFar(t + 1f), cubicNear(t), cubicNear(1f - t), cubicFar(2f - t)};
  }

  private static float cubicNear(float x) {
    return ((A + 2f) * x - (A + 3f)) * x * x + 1f;
  }

  private static float cubicFar(float x) {
    return ((A * x - 5f * A) * x + 8f * A) * x - 4f * A;
  }

  private static int side(long rows) {
    int side = (int) Math.round(Math.sqrt(rows));
    if ((long) side * side != rows) {
      throw new IllegalArgumentException(rows + " positions do not form a square grid");
    }
    return side;
  }
}

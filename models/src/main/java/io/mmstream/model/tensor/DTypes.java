package io.mmstream.model.tensor;

import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Path;

/** The safetensors dtype names this project reads, and their DJL counterparts. */
final class DTypes {
  private DTypes() {}

  static int byteWidth(String dtype, Path file) throws IOException {
    return switch (dtype) {
      case "F64", "I64" -> 8;
      case "F32", "I32" -> 4;
      case "F16", "BF16", "I16" -> 2;
      case "U8", "I8", "BOOL" -> 1;
      default -> throw new IOException(file + ": unsupported safetensors dtype " + dtype);
    };
  }

  static DataType djl(String dtype) {
    return switch (dtype) {
      case "F64" -> DataType.FLOAT64;
      case "F32" -> DataType.FLOAT32;
      case "F16" -> DataType.FLOAT16;
      case "I64" -> DataType.INT64;
      case "I32" -> DataType.INT32;
      case "I16" -> DataType.INT16;
      case "I8" -> DataType.INT8;
      case "U8" -> DataType.UINT8;
      case "BOOL" -> DataType.BOOLEAN;
      default -> throw new IllegalArgumentException("no DJL type for " + dtype);
    };
  }
}

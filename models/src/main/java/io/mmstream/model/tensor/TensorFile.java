package io.mmstream.model.tensor;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * One checkpoint file's tensors, whatever its format ({@link SafetensorsFile}, {@link
 * TorchCheckpointFile}): names with stored dtype and shape, and each tensor's bytes on demand.
 */
public interface TensorFile extends Closeable {

  /** A stored tensor: dtype in safetensors spelling (F32, F16, BF16, I64, ...), shape. */
  record Info(String name, String dtype, long[] shape) {
    public long elementCount() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  Path path();

  /** The tensors in file order. */
  Map<String, Info> tensors();

  /**
   * The tensor's elements, row-major and little-endian. Often a read-only memory mapping: never write
   * through it.
   */
  ByteBuffer read(String name) throws IOException;
}

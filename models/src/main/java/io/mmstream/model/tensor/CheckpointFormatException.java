package io.mmstream.model.tensor;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file that cannot be read: malformed, truncated, inconsistent, or holding content the
 * restricted unpickler refuses (a global outside the tensor-rebuild subset, an unknown opcode). The
 * message always starts with the file.
 */
public class CheckpointFormatException extends IOException {
  public CheckpointFormatException(Path file, String detail) {
    super(file + ": " + detail);
  }
}

package io.mmstream.model.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a safetensors file: a little-endian u64 header length, the JSON header (dtype, shape, data
 * offsets per tensor, {@code __metadata__}), then the tensors' bytes in insertion order. Used for
 * checkpoints built in tests and for saving trained weights.
 */
public final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The format pads the header with spaces so that the data starts 8-byte aligned. */
  private static final int ALIGNMENT = 8;

  private record Tensor(String dtype, long[] shape, byte[] data) {}

  private final Map<String, Tensor> tensors = new LinkedHashMap<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  public SafetensorsWriter() {
    metadata.put("format", "pt");
  }

  /** Adds raw little-endian {@code data} of safetensors type {@code dtype} (F32, F16, BF16, I64, ...). */
  public SafetensorsWriter add(String name, String dtype, long[] shape, ByteBuffer data) {
    long elements = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    byte[] bytes = new byte[data.remaining()];
    data.duplicate().get(bytes);
    try {
      if (bytes.length != elements * DTypes.byteWidth(dtype, Path.of(name))) {
        throw new IllegalArgumentException("tensor '" + name + "': " + bytes.length + " bytes do not fit " + dtype
            + " " + Arrays.toString(shape));
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage(), e);
    }
    if (tensors.putIfAbsent(name, new Tensor(dtype, shape.clone(), bytes)) != null) {
      throw new IllegalArgumentException("tensor '" + name + "' added twice");
    }
    return this;
  }

  /** Adds {@code array} with its own type and shape. */
  public SafetensorsWriter add(String name, NDArray array) {
    ByteBuffer data = array.toByteBuffer().order(ByteOrder.nativeOrder());
    ByteBuffer little = ByteBuffer.allocate(data.remaining()).order(ByteOrder.LITTLE_ENDIAN);
    int width = array.getDataType().getNumOfBytes();
    while (data.hasRemaining()) {
      switch (width) {
        case 8 -> little.putLong(data.getLong());
        case 4 -> little.putInt(data.getInt());
        case 2 -> little.putShort(data.getShort());
        default -> little.put(data.get());
      }
    }
    return add(name, dtypeName(array.getDataType()), array.getShape().getShape(), little.flip());
  }

  public void write(Path file) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    header.set("__metadata__", JSON.valueToTree(metadata));
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      ObjectNode node = header.putObject(e.getKey());
      node.put("dtype", e.getValue().dtype());
      node.set("shape", JSON.valueToTree(e.getValue().shape()));
      node.set("data_offsets", JSON.valueToTree(new long[] {offset, offset + e.getValue().data().length}));
      offset += e.getValue().data().length;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    byte[] headerBytes = Arrays.copyOf(json, padded);
    Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
      out.write(headerBytes);
      for (Tensor t : tensors.values()) {
        out.write(t.data());
      }
    }
  }

  private static String dtypeName(DataType type) {
    return switch (type) {
      case FLOAT64 -> "F64";
      case FLOAT32 -> "F32";
      case FLOAT16 -> "F16";
      case BFLOAT16 -> "BF16";
      case INT64 -> "I64";
      case INT32 -> "I32";
      case INT8 -> "I8";
      case UINT8 -> "U8";
      case BOOLEAN -> "BOOL";
      default -> throw new IllegalArgumentException("no safetensors type for " + type);
    };
  }
}

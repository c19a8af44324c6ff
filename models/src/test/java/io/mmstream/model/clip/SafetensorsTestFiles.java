package io.mmstream.model.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** Reads and writes safetensors files for loader tests (raw bytes, little-endian). */
final class SafetensorsTestFiles {
  private SafetensorsTestFiles() {}

  record Tensor(String dtype, long[] shape, byte[] data) {
    static Tensor f32(long[] shape, float[] values) {
      ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (float v : values) {
        b.putFloat(v);
      }
      return new Tensor("F32", shape, b.array());
    }

    static Tensor i64(long[] shape, long[] values) {
      ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
      for (long v : values) {
        b.putLong(v);
      }
      return new Tensor("I64", shape, b.array());
    }

    float[] floats() {
      ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
      float[] out = new float[data.length / 4];
      for (int i = 0; i < out.length; i++) {
        out[i] = b.getFloat();
      }
      return out;
    }
  }

  static Map<String, Tensor> read(Path file) throws IOException {
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      for (SafetensorsFile.Entry e : f.entries().values()) {
        byte[] data = new byte[(int) e.byteLength()];
        f.map(e).get(data);
        tensors.put(e.name(), new Tensor(e.dtype(), e.shape(), data));
      }
    }
    return tensors;
  }

  /** Header in sorted key order, padded with spaces so the data starts 8-byte aligned. */
  static void write(Path file, Map<String, Tensor> tensors) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode header = json.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    Map<String, Tensor> sorted = new TreeMap<>(tensors);
    for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
      ObjectNode node = header.putObject(e.getKey());
      node.put("dtype", e.getValue().dtype());
      var shape = node.putArray("shape");
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      node.putArray("data_offsets").add(offset).add(offset + e.getValue().data().length);
      offset += e.getValue().data().length;
    }
    StringBuilder text = new StringBuilder(json.writeValueAsString(header));
    while ((8 + text.toString().getBytes(StandardCharsets.UTF_8).length) % 8 != 0) {
      text.append(' ');
    }
    byte[] headerBytes = text.toString().getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).array());
      out.write(headerBytes);
      for (Tensor t : sorted.values()) {
        out.write(t.data());
      }
    }
  }
}

package io.mmstream.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** The clip-tiny fixture: its golden tensors, golden.json, and a model directory assembled from it. */
final class ClipFixture {
  static final Path ROOT = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "clip");
  static final Path TINY = ROOT.resolve("clip-tiny");
  static final Path TOKENIZER = ROOT.resolve("tokenizer");
  static final Path IMAGES = ROOT.resolve("images");

  /** A golden tensor: shape and values widened to double (integers exactly). */
  record Tensor(long[] shape, double[] values) {
    int rows() {
      return (int) shape[0];
    }

    int rowLength() {
      return values.length / rows();
    }
  }

  final JsonNode json;
  private final Map<String, Tensor> tensors = new HashMap<>();

  private ClipFixture(JsonNode json) {
    this.json = json;
  }

  static ClipFixture load() throws IOException {
    ClipFixture fixture = new ClipFixture(new ObjectMapper().readTree(TINY.resolve("golden.json").toFile()));
    try (SafetensorsFile file = SafetensorsFile.open(TINY.resolve("golden.safetensors"))) {
      for (SafetensorsFile.Entry e : file.entries().values()) {
        ByteBuffer data = file.map(e);
        double[] values = new double[(int) e.elementCount()];
        for (int i = 0; i < values.length; i++) {
          values[i] = switch (e.dtype()) {
            case "F32" -> data.getFloat();
            case "I64" -> data.getLong();
            default -> throw new IOException("unexpected golden dtype " + e.dtype());
          };
        }
        fixture.tensors.put(e.name(), new Tensor(e.shape(), values));
      }
    }
    return fixture;
  }

  Tensor tensor(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no golden tensor " + name);
    }
    return t;
  }

  /** The max-abs tolerance golden.json recommends for {@code name}. */
  double tolerance(String name) {
    JsonNode t = json.get("recommended_max_abs_tolerance").get(name);
    if (t == null) {
      throw new IllegalArgumentException("golden.json has no tolerance for " + name);
    }
    return t.asDouble();
  }

  /** Every tensor name golden.json lists. */
  List<String> tensorNames() {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = json.get("tensors").fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }

  List<String> texts() {
    List<String> texts = new ArrayList<>();
    json.get("texts").forEach(t -> texts.add(t.asText()));
    return texts;
  }

  List<String> imageFiles() {
    List<String> files = new ArrayList<>();
    json.get("images").forEach(i -> files.add(i.get("file").asText()));
    return files;
  }

  /** clip-tiny plus the tokenizer files, copied into {@code dir} as a published model directory is laid out. */
  static Path assembleModelDir(Path dir) throws IOException {
    for (String name : List.of("config.json", "model.safetensors")) {
      Files.copy(TINY.resolve(name), dir.resolve(name));
    }
    for (String name : List.of("vocab.json", "merges.txt")) {
      Files.copy(TOKENIZER.resolve(name), dir.resolve(name));
    }
    return dir;
  }
}

package io.mmstream.model.minigpt4;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The minigpt4-tiny goldens: tensors of golden.safetensors, ids and per-tensor atol of golden.json. */
public final class MiniGpt4Fixture implements AutoCloseable {
  public static final Path DIR =
      Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "minigpt4", "minigpt4-tiny");

  private final SafetensorsFile goldens;
  private final JsonNode json;

  public MiniGpt4Fixture() throws IOException {
    this.goldens = SafetensorsFile.open(DIR.resolve("golden.safetensors"));
    this.json = new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
  }

  public JsonNode json() {
    return json;
  }

  /** golden.json's cases, in order: one per chat turn. */
  public List<JsonNode> cases() {
    List<JsonNode> out = new ArrayList<>();
    json.get("cases").forEach(out::add);
    return out;
  }

  public JsonNode namedCase(String name) {
    return cases().stream().filter(c -> c.get("name").asText().equals(name)).findFirst().orElseThrow();
  }

  public List<String> imageNames() {
    List<String> out = new ArrayList<>();
    json.get("images").forEach(n -> out.add(n.asText()));
    return out;
  }

  public Path image(String relative) {
    return DIR.resolve(relative);
  }

  public NDArray tensor(NDManager manager, String name) throws IOException {
    SafetensorsFile.Entry e = goldens.entries().get(name);
    assertThat(e).as("golden " + name).isNotNull();
    ByteBuffer copy = ByteBuffer.allocateDirect((int) e.byteLength()).order(ByteOrder.nativeOrder());
    copy.put(goldens.map(e)).flip();
    DataType type = switch (e.dtype()) {
      case "F32" -> DataType.FLOAT32;
      case "I64" -> DataType.INT64;
      default -> throw new IllegalStateException(e.dtype());
    };
    return manager.create(copy, new Shape(e.shape()), type);
  }

  public static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  public double atol(String name) {
    return json.get("tensors").get(name).get("atol").asDouble();
  }

  /** Asserts shape equality and {@code |actual - golden| <= atol} of golden.json everywhere. */
  public void assertMatches(NDArray actual, String name) throws IOException {
    NDArray golden = tensor(actual.getManager(), name);
    assertThat(actual.getShape()).as(name + " shape").isEqualTo(golden.getShape());
    float diff = actual.toType(DataType.FLOAT32, false).sub(golden).abs().max().getFloat();
    assertThat((double) diff).as(name + " max abs diff").isLessThanOrEqualTo(atol(name));
  }

  @Override
  public void close() throws IOException {
    goldens.close();
  }
}

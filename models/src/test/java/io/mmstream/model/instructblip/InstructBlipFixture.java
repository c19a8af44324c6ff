package io.mmstream.model.instructblip;

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

/** The instructblip-tiny goldens: tensors of golden.safetensors, ids and per-tensor atol of golden.json. */
public final class InstructBlipFixture implements AutoCloseable {
  public static final Path DIR =
      Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "instructblip", "instructblip-tiny");

  private final SafetensorsFile goldens;
  private final JsonNode json;

  public InstructBlipFixture() throws IOException {
    this.goldens = SafetensorsFile.open(DIR.resolve("golden.safetensors"));
    this.json = new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
  }

  public JsonNode json() {
    return json;
  }

  public int count() {
    return json.get("instructions").size();
  }

  public String instruction(int i) {
    return json.get("instructions").get(i).asText();
  }

  public Path image(int i) {
    return DIR.resolve("images").resolve(json.get("images").get(i).asText() + ".png");
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

  /** The ids listed under {@code name} in golden.json, flattened row-major. */
  public long[] ids(String name) {
    List<Long> out = new ArrayList<>();
    flatten(json.get("ids").get(name), out);
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  private static void flatten(JsonNode node, List<Long> out) {
    if (node.isArray()) {
      node.forEach(n -> flatten(n, out));
    } else {
      out.add(node.asLong());
    }
  }

  public double atol(String name) {
    return json.get("tolerance").get("atol_per_tensor").get(name).asDouble();
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

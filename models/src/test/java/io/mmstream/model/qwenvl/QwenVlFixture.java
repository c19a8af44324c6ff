package io.mmstream.model.qwenvl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The qwen-vl-tiny goldens: tensors of golden.safetensors, cases and per-tensor atol of golden.json. */
public final class QwenVlFixture implements AutoCloseable {
  public static final Path DIR =
      Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "qwen-vl", "qwen-vl-tiny");

  private final SafetensorsFile goldens;
  private final JsonNode json;

  public QwenVlFixture() throws IOException {
    this.goldens = SafetensorsFile.open(DIR.resolve("golden.safetensors"));
    this.json = new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
  }

  public JsonNode json() {
    return json;
  }

  public List<JsonNode> cases() {
    List<JsonNode> out = new ArrayList<>();
    json.get("cases").forEach(out::add);
    return out;
  }

  public JsonNode caseNamed(String name) {
    for (JsonNode c : json.get("cases")) {
      if (c.get("name").asText().equals(name)) {
        return c;
      }
    }
    throw new IllegalArgumentException("no case " + name);
  }

  public static List<ChatTurn> history(JsonNode testCase) {
    List<ChatTurn> turns = new ArrayList<>();
    testCase.get("history").forEach(t -> turns.add(new ChatTurn(t.get(0).asText(), t.get(1).asText())));
    return turns;
  }

  public static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
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

  public double atol(String name) {
    return json.get("tensors").get(name).get("atol").asDouble();
  }

  /** Asserts shape equality and {@code |actual - golden| <= atol} of golden.json everywhere; returns the max diff. */
  public double assertMatches(NDArray actual, String name) throws IOException {
    NDArray golden = tensor(actual.getManager(), name);
    assertThat(actual.getShape()).as(name + " shape").isEqualTo(golden.getShape());
    double diff = actual.toType(DataType.FLOAT32, false).sub(golden).abs().max().getFloat();
    assertThat(diff).as(name + " max abs diff").isLessThanOrEqualTo(atol(name));
    return diff;
  }

  @Override
  public void close() throws IOException {
    goldens.close();
  }
}

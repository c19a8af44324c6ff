package io.mmstream.model.golden;

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
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A generative parity fixture's goldens: the tensors of golden.safetensors, and golden.json's {@code cases} and
 * per-tensor {@code atol}. Each family's fixture class adds what only its fixture records.
 */
public class GoldenFiles implements AutoCloseable {
  /** The repository's one fixture folder (the parent pom passes it to the tests). */
  public static final Path ROOT = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));

  private final Path directory;
  private final SafetensorsFile goldens;
  private final JsonNode json;

  protected GoldenFiles(Path directory) throws IOException {
    this.directory = directory;
    this.goldens = SafetensorsFile.open(directory.resolve("golden.safetensors"));
    this.json = new ObjectMapper().readTree(directory.resolve("golden.json").toFile());
  }

  public Path directory() {
    return directory;
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
    throw new IllegalArgumentException("no golden case " + name + " in " + directory);
  }

  /** A golden tensor copied out of the mapped file (F32, I64 or U8). */
  public NDArray tensor(NDManager manager, String name) {
    SafetensorsFile.Entry e = goldens.entries().get(name);
    assertThat(e).as("golden " + name).isNotNull();
    ByteBuffer copy = ByteBuffer.allocateDirect((int) e.byteLength()).order(ByteOrder.nativeOrder());
    try {
      copy.put(goldens.map(e)).flip();
    } catch (IOException io) {
      throw new UncheckedIOException(io);
    }
    DataType type = switch (e.dtype()) {
      case "F32" -> DataType.FLOAT32;
      case "I64" -> DataType.INT64;
      case "U8" -> DataType.UINT8;
      default -> throw new IllegalStateException(name + ": " + e.dtype());
    };
    return manager.create(copy, new Shape(e.shape()), type);
  }

  /** The tensors golden.json gives a tolerance for. */
  public List<String> tensorNames() {
    List<String> out = new ArrayList<>();
    json.get("tensors").fieldNames().forEachRemaining(out::add);
    return out;
  }

  public double atol(String name) {
    return json.get("tensors").get(name).get("atol").asDouble();
  }

  /** Asserts shape equality and {@code |actual - golden| <= atol} everywhere; returns the largest difference. */
  public double assertMatches(NDArray actual, String name) {
    NDArray golden = tensor(actual.getManager(), name);
    assertThat(actual.getShape()).as(name + " shape").isEqualTo(golden.getShape());
    double diff = actual.toType(DataType.FLOAT32, false).sub(golden.toType(DataType.FLOAT32, false)).abs().max()
        .getFloat();
    assertThat(diff).as(name + " max abs diff").isLessThanOrEqualTo(atol(name));
    return diff;
  }

  public static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  /** A case's {@code history}: {@code [user, assistant]} pairs, oldest first. */
  public static List<ChatTurn> history(JsonNode c) {
    List<ChatTurn> out = new ArrayList<>();
    c.get("history").forEach(t -> out.add(new ChatTurn(t.get(0).asText(), t.get(1).asText())));
    return out;
  }

  @Override
  public void close() throws IOException {
    goldens.close();
  }
}

package io.mmstream.model.blip2;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** A Q-Former family parity fixture: golden.safetensors tensors, golden.json cases and per-tensor atol. */
final class Blip2Fixture implements AutoCloseable {
  static final Path ROOT = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));

  final Path dir;
  final JsonNode json;
  private final SafetensorsFile goldens;

  Blip2Fixture(String family, String name) throws IOException {
    this.dir = ROOT.resolve(family).resolve(name);
    this.goldens = SafetensorsFile.open(dir.resolve("golden.safetensors"));
    this.json = new ObjectMapper().readTree(dir.resolve("golden.json").toFile());
  }

  PixelImage image(String relative) throws IOException {
    return PixelImage.from(ImageIO.read(dir.resolve(relative).toFile()));
  }

  /** The case named {@code name} in golden.json's {@code cases}. */
  JsonNode testCase(String name) {
    for (JsonNode c : json.get("cases")) {
      if (c.get("name").asText().equals(name)) {
        return c;
      }
    }
    throw new IllegalArgumentException("no case " + name);
  }

  static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  static long[][] longRows(JsonNode rows) {
    long[][] out = new long[rows.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = longs(rows.get(i));
    }
    return out;
  }

  NDArray tensor(NDManager manager, String name) {
    SafetensorsFile.Entry e = goldens.entries().get(name);
    assertThat(e).as("golden " + name).isNotNull();
    ByteBuffer copy = ByteBuffer.allocateDirect((int) e.byteLength()).order(ByteOrder.nativeOrder());
    try {
      copy.put(goldens.map(e)).flip();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    DataType type = switch (e.dtype()) {
      case "F32" -> DataType.FLOAT32;
      case "I64" -> DataType.INT64;
      default -> throw new IllegalStateException(e.dtype());
    };
    return manager.create(copy, new Shape(e.shape()), type);
  }

  double atol(String name) {
    JsonNode t = json.get("tensors").get(name);
    assertThat(t).as("tolerance of " + name).isNotNull();
    return t.get("atol").asDouble();
  }

  /** Asserts equal shapes (leading 1s ignored) and {@code |actual - golden| <= atol} everywhere. */
  void assertMatches(NDArray actual, String name) {
    NDArray golden = tensor(actual.getManager(), name);
    NDArray a = actual.toType(DataType.FLOAT32, false);
    if (a.getShape().dimension() > golden.getShape().dimension() && a.getShape().get(0) == 1) {
      a = a.squeeze(0);
    }
    assertThat(a.getShape()).as(name + " shape").isEqualTo(golden.getShape());
    float diff = a.sub(golden).abs().max().getFloat();
    assertThat((double) diff).as(name + " max abs diff").isLessThanOrEqualTo(atol(name));
  }

  /** Asserts {@code [steps][vocab]} logits against the golden's first {@code steps} rows. */
  void assertStepLogits(float[][] actual, String name) {
    NDManager m = NDManager.newBaseManager();
    try (m) {
      assertMatches(m.create(actual), name);
    }
  }

  /** {@code [rows][steps][vocab]} as one array. */
  static NDArray stack(NDManager manager, float[][][] rows) {
    List<NDArray> parts = new ArrayList<>();
    for (float[][] row : rows) {
      parts.add(manager.create(row).expandDims(0));
    }
    return NDArrays.concat(new NDList(parts), 0);
  }

  @Override
  public void close() throws IOException {
    goldens.close();
  }
}

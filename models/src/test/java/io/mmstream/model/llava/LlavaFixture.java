package io.mmstream.model.llava;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** The llava-tiny goldens (haotian-liu/LLaVA + openai CLIP + Meta LLaMA): tensors, cases and per-tensor atol. */
public final class LlavaFixture implements AutoCloseable {
  public static final Path DIR = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "llava", "llava-tiny");

  private final SafetensorsFile goldens;
  private final JsonNode json;

  public LlavaFixture() throws IOException {
    this.goldens = SafetensorsFile.open(DIR.resolve("golden.safetensors"));
    this.json = new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
  }

  public List<JsonNode> cases() {
    List<JsonNode> out = new ArrayList<>();
    json.get("cases").forEach(out::add);
    return out;
  }

  /** The images in golden.json's pixel_values order. */
  public List<PixelImage> images() throws IOException {
    List<PixelImage> out = new ArrayList<>();
    for (JsonNode name : json.get("pixel_values_order")) {
      out.add(image(name.asText()));
    }
    return out;
  }

  public static PixelImage image(String relative) throws IOException {
    return PixelImage.from(ImageIO.read(DIR.resolve(relative).toFile()));
  }

  public static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  public static List<ChatTurn> history(JsonNode c) {
    List<ChatTurn> out = new ArrayList<>();
    c.get("history").forEach(t -> out.add(new ChatTurn(t.get(0).asText(), t.get(1).asText())));
    return out;
  }

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
      default -> throw new IllegalStateException(e.dtype());
    };
    return manager.create(copy, new Shape(e.shape()), type);
  }

  public List<String> tensorNames() {
    List<String> out = new ArrayList<>();
    json.get("tensors").fieldNames().forEachRemaining(out::add);
    return out;
  }

  public double atol(String name) {
    return json.get("tensors").get(name).get("atol").asDouble();
  }

  /** Asserts shape equality and {@code |actual - golden| <= atol} of golden.json everywhere. */
  public void assertMatches(NDArray actual, String name) {
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

package io.mmstream.model.blip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;

/** A BLIP parity fixture: its directory, golden.json and the tensors of golden.safetensors. */
final class BlipFixture implements AutoCloseable {
  static final Path ROOT = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "blip");

  final Path dir;
  final JsonNode golden;
  private final SafetensorsFile tensors;

  private BlipFixture(Path dir) throws IOException {
    this.dir = dir;
    this.golden = new ObjectMapper().readTree(dir.resolve("golden.json").toFile());
    this.tensors = SafetensorsFile.open(dir.resolve("golden.safetensors"));
  }

  static BlipFixture caption() throws IOException {
    return new BlipFixture(ROOT.resolve("blip-tiny-caption"));
  }

  static BlipFixture vqa() throws IOException {
    return new BlipFixture(ROOT.resolve("blip-tiny-vqa"));
  }

  long[] shape(String name) {
    return entry(name).shape();
  }

  float[] floats(String name) {
    SafetensorsFile.Entry e = entry(name);
    assertThat(e.dtype()).isEqualTo("F32");
    float[] out = new float[(int) e.elementCount()];
    map(e).asFloatBuffer().get(out);
    return out;
  }

  long[] longs(String name) {
    SafetensorsFile.Entry e = entry(name);
    assertThat(e.dtype()).isEqualTo("I64");
    long[] out = new long[(int) e.elementCount()];
    map(e).asLongBuffer().get(out);
    return out;
  }

  long[][] longRows(String name) {
    long[] flat = longs(name);
    int cols = (int) shape(name)[shape(name).length - 1];
    long[][] out = new long[flat.length / cols][];
    for (int i = 0; i < out.length; i++) {
      out[i] = Arrays.copyOfRange(flat, i * cols, (i + 1) * cols);
    }
    return out;
  }

  /** The per-tensor absolute tolerance from golden.json. */
  double atol(String name) {
    JsonNode node = golden.path("tolerance").path("atol_per_tensor").path(name);
    assertThat(node.isNumber()).as("tolerance for " + name).isTrue();
    return node.asDouble();
  }

  List<PixelImage> images(boolean resized) throws IOException {
    List<PixelImage> out = new ArrayList<>();
    for (JsonNode image : golden.path("images")) {
      Path file = dir.resolve(image.path(resized ? "resized_file" : "file").asText());
      out.add(PixelImage.from(ImageIO.read(file.toFile())));
    }
    return out;
  }

  /** Asserts {@code |actual - golden| <= atol(name)} everywhere, with equal shapes. */
  void assertClose(String name, NDArray actual) {
    assertThat(actual.getShape().getShape()).as(name + " shape").containsExactly(shape(name));
    assertClose(name, actual.toFloatArray(), atol(name));
  }

  void assertClose(String name, float[] actual, double atol) {
    float[] expected = floats(name);
    assertClose(name, actual, expected, atol);
  }

  static void assertClose(String what, float[] actual, float[] expected, double atol) {
    assertThat(actual.length).as(what + " size").isEqualTo(expected.length);
    double worst = 0;
    int at = -1;
    for (int i = 0; i < actual.length; i++) {
      double d = Math.abs((double) actual[i] - expected[i]);
      if (!(d <= worst)) {
        worst = d;
        at = i;
      }
    }
    assertThat(worst).as(what + " max |diff| (at " + at + ")").isLessThanOrEqualTo(atol);
  }

  private SafetensorsFile.Entry entry(String name) {
    SafetensorsFile.Entry e = tensors.entries().get(name);
    assertThat(e).as("golden tensor " + name).isNotNull();
    return e;
  }

  private ByteBuffer map(SafetensorsFile.Entry e) {
    try {
      return tensors.map(e);
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
  }

  @Override
  public void close() throws IOException {
    tensors.close();
  }
}

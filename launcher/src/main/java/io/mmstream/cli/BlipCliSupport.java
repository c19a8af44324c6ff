package io.mmstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.GenerationConfig;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import picocli.CommandLine.Option;

/** What the {@code caption}, {@code vqa} and {@code instruct} commands share: image reading, decoding flags, JSON output. */
final class BlipCliSupport {
  static final ObjectMapper JSON = new ObjectMapper();

  private BlipCliSupport() {}

  /** The output options of the generating commands; a picocli mixin. */
  static final class OutputOptions {
    @Option(names = "--logits", description = "Include the full-vocabulary logits of every generated step.")
    boolean logits;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;
  }

  static PixelImage readImage(Path file) throws IOException {
    BufferedImage image = ImageIO.read(file.toFile());
    if (image == null) {
      throw new IOException(file + ": not an image format this JVM can decode");
    }
    return PixelImage.from(image);
  }

  /** {@code --greedy} is plain argmax (the fixtures' reference: no beams, no minimum length); {@code --beams} overrides the beam count. */
  static GenerationConfig decoding(GenerationConfig original, boolean greedy, Integer beams) {
    GenerationConfig config = greedy ? original.withNumBeams(1).withMinLength(0) : original;
    return beams == null ? config : config.withNumBeams(beams);
  }

  /** The {@code {"results": [...]}} document the generating commands print with {@code --json}. */
  static final class Results {
    private final ObjectNode root = JSON.createObjectNode();
    private final ArrayNode results = root.putArray("results");

    /** A result of {@code image}: its input under {@code inputField} (none when null), the ids, the text. */
    ObjectNode add(Path image, String inputField, String input, long[] ids, String text) {
      ObjectNode result = results.addObject();
      result.put("image", image.toString());
      if (inputField != null) {
        result.put(inputField, input);
      }
      result.set("ids", ids(ids));
      result.put("text", text);
      return result;
    }

    void print() throws IOException {
      System.out.println(JSON.writeValueAsString(root));
    }
  }

  /** Adds {@code step_logits} when they were recorded. */
  static void putStepLogits(ObjectNode result, float[][] stepLogits) {
    if (stepLogits != null) {
      result.set("step_logits", logits(stepLogits));
    }
  }

  static ArrayNode ids(long[] ids) {
    ArrayNode out = JSON.createArrayNode();
    for (long id : ids) {
      out.add(id);
    }
    return out;
  }

  static ArrayNode logits(float[][] steps) {
    ArrayNode out = JSON.createArrayNode();
    for (float[] step : steps) {
      ArrayNode row = out.addArray();
      for (float v : step) {
        row.add(v);
      }
    }
    return out;
  }

  /** JSON has no NaN: a missing score is null. */
  static void putNumber(ObjectNode node, String field, double value) {
    if (Double.isFinite(value)) {
      node.put(field, value);
    } else {
      node.putNull(field);
    }
  }
}

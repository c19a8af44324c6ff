package io.mmstream.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.nn.Activation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A Hugging Face CLIP {@code config.json}: the two towers and the shared embedding width. The
 * checkpoint's {@code logit_scale} tensor, not {@code logit_scale_init_value}, sets the logit scale.
 */
public record ClipConfig(ClipTextConfig textConfig, ClipVisionConfig visionConfig, int projectionDim) {

  public static final String FILE_NAME = "config.json";

  /** Reads {@code dir/config.json}. */
  public static ClipConfig read(Path dir) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    try {
      return fromJson(root);
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  /** Older published configs carry the towers under {@code *_config_dict}. */
  public static ClipConfig fromJson(JsonNode root) {
    JsonNode text = tower(root, "text_config");
    JsonNode vision = tower(root, "vision_config");
    return new ClipConfig(
        ClipTextConfig.fromJson(text), ClipVisionConfig.fromJson(vision), intField(root, "projection_dim", 512));
  }

  /** openai/clip-vit-base-patch32: the shapes benchmarks use without a download. */
  public static ClipConfig vitBasePatch32() {
    return new ClipConfig(
        new ClipTextConfig(49408, 512, 2048, 12, 8, 77, Activation.QUICK_GELU, 1e-5),
        new ClipVisionConfig(768, 3072, 12, 12, 3, 224, 32, Activation.QUICK_GELU, 1e-5),
        512);
  }

  /** openai/clip-vit-large-patch14. */
  public static ClipConfig vitLargePatch14() {
    return new ClipConfig(
        new ClipTextConfig(49408, 768, 3072, 12, 12, 77, Activation.QUICK_GELU, 1e-5),
        new ClipVisionConfig(1024, 4096, 24, 16, 3, 224, 14, Activation.QUICK_GELU, 1e-5),
        768);
  }

  /** A named preset: {@code vit-b-32} or {@code vit-l-14}. */
  public static ClipConfig preset(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "vit-b-32", "vit-base-patch32" -> vitBasePatch32();
      case "vit-l-14", "vit-large-patch14" -> vitLargePatch14();
      default -> throw new IllegalArgumentException("unknown CLIP preset '" + name + "' (vit-b-32, vit-l-14)");
    };
  }

  private static JsonNode tower(JsonNode root, String name) {
    JsonNode node = root.path(name);
    if (!node.isObject()) {
      node = root.path(name + "_dict");
    }
    if (!node.isObject()) {
      throw new IllegalArgumentException("no " + name + " object");
    }
    return node;
  }

  static int intField(JsonNode node, String name, int defaultValue) {
    JsonNode value = node.get(name);
    if (value == null || value.isNull()) {
      return defaultValue;
    }
    if (!value.canConvertToInt()) {
      throw new IllegalArgumentException(name + " is not an integer: " + value);
    }
    return value.asInt();
  }

  static void requireHeadSplit(String tower, int hiddenSize, int heads) {
    if (hiddenSize <= 0 || heads <= 0 || hiddenSize % heads != 0) {
      throw new IllegalArgumentException(
          tower + ": hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + heads);
    }
  }
}

package io.mmstream.model.blip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.nn.Activation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * HF {@code BlipConfig} ({@code config.json}, {@code model_type} "blip") as far as captioning and VQA
 * use it, plus presets with the real shapes of the published checkpoints.
 */
public record BlipConfig(Task task, BlipTextConfig text, BlipVisionConfig vision) {

  /** Which head the checkpoint carries, from {@code architectures}. */
  public enum Task {
    CAPTIONING("BlipForConditionalGeneration"),
    QUESTION_ANSWERING("BlipForQuestionAnswering");

    private final String architecture;

    Task(String architecture) {
      this.architecture = architecture;
    }

    public String architecture() {
      return architecture;
    }

    static Task of(String architecture) {
      for (Task t : values()) {
        if (t.architecture.equals(architecture)) {
          return t;
        }
      }
      throw new IllegalArgumentException(
          "unsupported BLIP architecture '" + architecture + "' (expected BlipForConditionalGeneration or BlipForQuestionAnswering)");
    }
  }

  public static final String CONFIG_FILE = "config.json";

  public static BlipConfig load(Path modelDirectory) throws IOException {
    Path file = modelDirectory.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(file)) {
      throw new IOException(modelDirectory + ": no " + CONFIG_FILE);
    }
    return fromJson(new ObjectMapper().readTree(file.toFile()), file);
  }

  static BlipConfig fromJson(JsonNode root, Path source) throws IOException {
    String modelType = root.path("model_type").asText("blip");
    if (!modelType.equals("blip")) {
      throw new IOException(source + ": model_type is '" + modelType + "', expected 'blip'");
    }
    JsonNode architectures = root.path("architectures");
    if (!architectures.isArray() || architectures.isEmpty()) {
      throw new IOException(source + ": no architectures entry (BlipForConditionalGeneration or BlipForQuestionAnswering)");
    }
    Task task;
    try {
      task = Task.of(architectures.get(0).asText());
    } catch (IllegalArgumentException e) {
      throw new IOException(source + ": " + e.getMessage(), e);
    }
    BlipVisionConfig vision = BlipVisionConfig.fromJson(root.path("vision_config"));
    BlipTextConfig text = BlipTextConfig.fromJson(root.path("text_config"), vision.hiddenSize());
    return new BlipConfig(task, text, vision);
  }

  /** Salesforce/blip-image-captioning-base: ViT-B/16 at 384, BERT-base decoder. */
  public static BlipConfig captioningBase() {
    return new BlipConfig(Task.CAPTIONING, baseText(), baseVision());
  }

  /** Salesforce/blip-vqa-base: the same towers plus a BERT-base question encoder. */
  public static BlipConfig vqaBase() {
    return new BlipConfig(Task.QUESTION_ANSWERING, baseText(), baseVision());
  }

  private static BlipVisionConfig baseVision() {
    // The published configs say 1e-5 (the original ViT used 1e-6); it only matters for real weights.
    return new BlipVisionConfig(768, 3072, 12, 12, 3, 384, 16, Activation.GELU, 1e-5);
  }

  private static BlipTextConfig baseText() {
    return new BlipTextConfig(30524, 768, 768, 3072, 12, 12, 512, Activation.GELU, 1e-12, 30522, 0, 102);
  }
}

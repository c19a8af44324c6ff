package io.mmstream.model.minigpt4;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The files a MiniGPT-4 (v1, Vicuna) user has, found as the original finds them from its eval config
 * ({@code minigpt4_eval.yaml}, {@code model:} section): the EVA ViT-g checkpoint ({@code eva_vit_g.pth}, which the
 * original downloads by a fixed URL), the BLIP-2 Q-Former checkpoint ({@code q_former_model}), the Vicuna HF
 * directory ({@code llama_model}) and the projection checkpoint ({@code ckpt}). Relative paths resolve against the
 * model directory; a URL (the original's defaults) names a file of the same name in it.
 *
 * @param imageSize {@code image_size}, the square side the ViT runs at
 * @param numQueryTokens {@code num_query_token}
 */
public record MiniGpt4Files(
    Path directory,
    Path evalConfig,
    Path vision,
    Path qformer,
    Path vicuna,
    Path projection,
    int imageSize,
    int numQueryTokens) {

  /** The eval config whose presence marks a MiniGPT-4 directory (the original's {@code eval_configs/} file). */
  public static final String EVAL_CONFIG = "minigpt4_eval.yaml";
  /** The file {@code create_eva_vit_g} downloads. */
  public static final String VISION_CHECKPOINT = "eva_vit_g.pth";
  static final String ARCHITECTURE = "mini_gpt4";

  /** Whether {@code directory} holds MiniGPT-4's eval config. */
  public static boolean isMiniGpt4Directory(Path directory) {
    return Files.isRegularFile(directory.resolve(EVAL_CONFIG));
  }

  /** Reads {@code directory/minigpt4_eval.yaml}; fails naming the first file that is missing. */
  public static MiniGpt4Files locate(Path directory) throws IOException {
    Path yaml = directory.resolve(EVAL_CONFIG);
    JsonNode model = new ObjectMapper(new YAMLFactory()).readTree(yaml.toFile()).path("model");
    String arch = model.path("arch").asText("");
    if (!arch.equals(ARCHITECTURE)) {
      throw new IOException(yaml + ": model.arch is '" + arch + "', not " + ARCHITECTURE);
    }
    String vitModel = model.path("vit_model").asText("eva_clip_g");
    if (!vitModel.equals("eva_clip_g")) {
      throw new IOException(yaml + ": vit_model '" + vitModel + "' is not supported (the original builds only eva_clip_g)");
    }
    MiniGpt4Files files = new MiniGpt4Files(
        directory,
        yaml,
        directory.resolve(VISION_CHECKPOINT),
        resolve(directory, yaml, model, "q_former_model"),
        resolve(directory, yaml, model, "llama_model"),
        resolve(directory, yaml, model, "ckpt"),
        model.path("image_size").asInt(224),
        model.path("num_query_token").asInt(32));
    for (Path p : new Path[] {files.vision, files.qformer, files.projection}) {
      if (!Files.isRegularFile(p)) {
        throw new IOException(yaml + ": checkpoint " + p + " not found");
      }
    }
    if (!Files.isRegularFile(files.vicuna.resolve("config.json"))) {
      throw new IOException(yaml + ": llama_model " + files.vicuna + " is not an HF LLaMA directory (no config.json)");
    }
    return files;
  }

  private static Path resolve(Path directory, Path yaml, JsonNode model, String field) throws IOException {
    String value = model.path(field).asText("");
    if (value.isEmpty()) {
      throw new IOException(yaml + ": model." + field + " is not set");
    }
    if (value.startsWith("http://") || value.startsWith("https://")) {
      String path = URI.create(value).getPath();
      return directory.resolve(path.substring(path.lastIndexOf('/') + 1));
    }
    return directory.resolve(value);
  }
}

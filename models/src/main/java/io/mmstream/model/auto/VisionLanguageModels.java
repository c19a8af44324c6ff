package io.mmstream.model.auto;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.blip.BlipCaptionModel;
import io.mmstream.model.blip2.Blip2OptModel;
import io.mmstream.model.blip2.Blip2T5Model;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.instructblip.InstructBlipVicunaModel;
import io.mmstream.model.llava.LlavaChatModel;
import io.mmstream.model.minigpt4.MiniGpt4Chat;
import io.mmstream.model.minigpt4.MiniGpt4Files;
import io.mmstream.model.visualglm.VisualGlmChatModel;
import io.mmstream.model.visualglm.VisualGlmConfig;
import io.mmstream.model.qwenvl.QwenVlChatModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens whatever generative model a directory holds, as transformers' Auto classes do: config.json's
 * {@code model_type} (and the language model's {@code text_config.model_type}) pick the family; no per-model flags.
 * MiniGPT-4 directories are known by the original's eval config ({@link MiniGpt4Files#EVAL_CONFIG}).
 */
public final class VisionLanguageModels {
  private VisionLanguageModels() {}

  /** Loads the model in {@code modelDirectory}; its tensors live in {@code manager}. */
  public static VisionLanguageModel load(Path modelDirectory, NDManager manager) throws IOException {
    // MiniGPT-4 ships the original's checkpoints and eval config, no config.json at the top.
    if (MiniGpt4Files.isMiniGpt4Directory(modelDirectory)) {
      return MiniGpt4Chat.load(modelDirectory, manager);
    }
    Path configFile = modelDirectory.resolve("config.json");
    if (!Files.isRegularFile(configFile)) {
      throw new IOException(modelDirectory + ": no config.json; not a model directory mmstream can open");
    }
    JsonNode config = new ObjectMapper().readTree(configFile.toFile());
    String type = config.path("model_type").asText("");
    String textType = config.path("text_config").path("model_type").asText("");
    switch (type) {
      case "blip" -> {
        return BlipCaptionModel.load(modelDirectory, manager);
      }
      case "blip-2" -> {
        if (textType.equals("opt")) {
          return Blip2OptModel.load(modelDirectory, manager);
        }
        if (textType.equals("t5")) {
          return Blip2T5Model.load(modelDirectory, manager);
        }
        throw new IOException(modelDirectory + ": BLIP-2 with a '" + textType + "' language model is not supported");
      }
      case "instructblip" -> {
        if (textType.equals("llama")) {
          return InstructBlipVicunaModel.load(modelDirectory, manager);
        }
        if (textType.equals("t5")) {
          return Blip2T5Model.load(modelDirectory, manager);
        }
        throw new IOException(modelDirectory + ": InstructBLIP with a '" + textType + "' language model is not supported");
      }
      case "llava" -> {
        return LlavaChatModel.load(modelDirectory, manager);
      }
      case "chatglm" -> {
        if (VisualGlmConfig.hasImageModule(config)) {
          return VisualGlmChatModel.load(modelDirectory, manager);
        }
        throw new IOException(modelDirectory + ": ChatGLM without an image module is not a vision-language model");
      }
      case "qwen" -> {
        if (config.has("visual")) {
          return QwenVlChatModel.load(modelDirectory, manager);
        }
        throw new IOException(modelDirectory + ": a Qwen model without a 'visual' tower is not a vision-language model");
      }
      default -> throw new IOException(modelDirectory + ": model_type '" + type
          + "' is not a generative vision-language model mmstream supports");
    }
  }
}

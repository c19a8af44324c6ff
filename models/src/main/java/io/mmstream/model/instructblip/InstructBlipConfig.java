package io.mmstream.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.blip.BlipVisionConfig;
import io.mmstream.model.llama.LlamaConfig;
import io.mmstream.model.nn.Activation;
import java.io.IOException;
import java.nio.file.Path;

/**
 * HF {@code InstructBlipConfig} with a LLaMA language model: EVA ViT ({@code vision_config}),
 * Q-Former ({@code qformer_config}), LLaMA ({@code text_config}) and the number of query tokens.
 */
public record InstructBlipConfig(
    BlipVisionConfig vision, InstructBlipQFormerConfig qformer, LlamaConfig text, int numQueryTokens) {

  /**
   * The eps of the original {@code ln_vision} (torch's LayerNorm default). HF builds the same layer as
   * {@code post_layernorm} with {@code vision_config.layer_norm_eps} (1e-6, the blocks' eps), which
   * moves the image states by ~1e-3; the original is the reference.
   */
  public static final double ORIGINAL_LN_VISION_EPS = 1e-5;

  public InstructBlipConfig {
    if (vision.hiddenSize() != qformer.encoderHiddenSize()) {
      throw new IllegalArgumentException("qformer encoder_hidden_size " + qformer.encoderHiddenSize()
          + " differs from the vision hidden_size " + vision.hiddenSize());
    }
    if (numQueryTokens < 1) {
      throw new IllegalArgumentException("num_query_tokens must be >= 1, got " + numQueryTokens);
    }
  }

  public static InstructBlipConfig load(Path modelDirectory) throws IOException {
    return fromJson(new ObjectMapper().readTree(modelDirectory.resolve("config.json").toFile()));
  }

  public static InstructBlipConfig fromJson(JsonNode root) {
    String type = root.path("model_type").asText("instructblip");
    if (!type.equals("instructblip")) {
      throw new IllegalArgumentException("model_type '" + type + "' is not instructblip");
    }
    JsonNode text = root.path("text_config");
    String textType = text.path("model_type").asText("opt");
    if (!textType.equals("llama")) {
      throw new IllegalArgumentException(
          "InstructBLIP with a '" + textType + "' language model is not supported (only llama/vicuna)");
    }
    return new InstructBlipConfig(
        visionFromJson(root.path("vision_config")),
        InstructBlipQFormerConfig.fromJson(root.path("qformer_config")),
        LlamaConfig.fromJson(text),
        root.path("num_query_tokens").asInt(32));
  }

  /** Reads {@code vision_config}; absent fields take HF {@code InstructBlipVisionConfig}'s defaults (EVA ViT-g). */
  public static BlipVisionConfig visionFromJson(JsonNode c) {
    if (!c.path("qkv_bias").asBoolean(true)) {
      throw new IllegalArgumentException("vision qkv_bias=false is not supported");
    }
    return new BlipVisionConfig(
        c.path("hidden_size").asInt(1408),
        c.path("intermediate_size").asInt(6144),
        c.path("num_hidden_layers").asInt(39),
        c.path("num_attention_heads").asInt(16),
        c.path("num_channels").asInt(3),
        c.path("image_size").asInt(224),
        c.path("patch_size").asInt(14),
        Activation.fromConfig(c.path("hidden_act").asText("gelu")),
        c.path("layer_norm_eps").asDouble(1e-6));
  }

  /** Salesforce/instructblip-vicuna-7b's shapes (EVA ViT-g/14 at 224, 32 queries, Vicuna-7B). */
  public static InstructBlipConfig vicuna7b() {
    return new InstructBlipConfig(
        new BlipVisionConfig(1408, 6144, 39, 16, 3, 224, 14, Activation.GELU, 1e-6),
        InstructBlipQFormerConfig.released(),
        LlamaConfig.vicuna7b(),
        32);
  }

  public InstructBlipConfig withText(LlamaConfig newText) {
    return new InstructBlipConfig(vision, qformer, newText, numQueryTokens);
  }
}

package io.mmstream.model.blip2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import io.mmstream.model.blip.BlipVisionConfig;
import io.mmstream.model.instructblip.InstructBlipConfig;
import io.mmstream.model.instructblip.InstructBlipQFormerConfig;
import io.mmstream.model.nn.Activation;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The image side of HF {@code Blip2Config} (and of InstructBLIP's): EVA ViT ({@code vision_config}), Q-Former
 * ({@code qformer_config}), the number of query tokens, and which language model {@code text_config} holds; the
 * language model's own config is read by its family ({@code text_config} is kept as JSON for that).
 */
public record Blip2Config(
    String modelType, BlipVisionConfig vision, InstructBlipQFormerConfig qformer, int numQueryTokens,
    String textModelType, JsonNode textConfig) {

  public Blip2Config {
    if (vision.hiddenSize() != qformer.encoderHiddenSize()) {
      throw new IllegalArgumentException("qformer encoder_hidden_size " + qformer.encoderHiddenSize()
          + " differs from the vision hidden_size " + vision.hiddenSize());
    }
    if (numQueryTokens < 1) {
      throw new IllegalArgumentException("num_query_tokens must be >= 1, got " + numQueryTokens);
    }
  }

  public static Blip2Config load(Path modelDirectory) throws IOException {
    return fromJson(new ObjectMapper().readTree(modelDirectory.resolve("config.json").toFile()));
  }

  /** Reads a {@code blip-2} or {@code instructblip} config.json; HF's defaults for absent fields. */
  public static Blip2Config fromJson(JsonNode root) {
    String type = root.path("model_type").asText("blip-2");
    if (!type.equals("blip-2") && !type.equals("instructblip")) {
      throw new IllegalArgumentException("model_type '" + type + "' is neither blip-2 nor instructblip");
    }
    JsonNode text = root.path("text_config");
    return new Blip2Config(
        type,
        InstructBlipConfig.visionFromJson(root.path("vision_config")),
        InstructBlipQFormerConfig.fromJson(root.path("qformer_config")),
        root.path("num_query_tokens").asInt(32),
        text.path("model_type").asText("opt"),
        text);
  }

  /**
   * Salesforce/blip2-*'s image side (EVA ViT-g/14 at 224, BLIP-2's 12-layer Q-Former, 32 queries) in front of a
   * {@code textModelType} language model whose config the caller builds.
   */
  public static Blip2Config released(String textModelType) {
    return new Blip2Config("blip-2", InstructBlipConfig.vicuna7b().vision(),
        new InstructBlipQFormerConfig(30522, 768, 12, 12, 3072, Activation.GELU, 1e-12, 512, 2, 1408, 0), 32,
        textModelType, NullNode.getInstance());
  }

  /** The same image side without vision layers (benchmarks of the language model alone). */
  public Blip2Config withoutVisionLayers() {
    BlipVisionConfig v = vision;
    return new Blip2Config(modelType, new BlipVisionConfig(v.hiddenSize(), v.intermediateSize(), 0,
        v.numAttentionHeads(), v.numChannels(), v.imageSize(), v.patchSize(), v.hiddenAct(), v.layerNormEps()),
        qformer, numQueryTokens, textModelType, textConfig);
  }

  /** Whether the Q-Former also reads the prompt (InstructBLIP) or only its queries (BLIP-2). */
  public boolean instructionAware() {
    return modelType.equals("instructblip");
  }
}

package io.mmstream.model.llava;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.clip.ClipVisionConfig;
import io.mmstream.model.llama.LlamaConfig;
import io.mmstream.model.nn.Activation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A Hugging Face {@code LlavaConfig} (config.json of a llava-hf directory): the CLIP vision tower, the LLaMA
 * language model, and how the two are joined. Absent fields take LlavaConfig's defaults (LLaVA-1.5).
 *
 * @param imageTokenIndex the HF form's image placeholder id ({@code <image>}); the original marks the image with
 *     {@link LlavaForConditionalGeneration#IMAGE_MARKER} instead
 * @param visionFeatureLayer which of the tower's hidden states feed the projector; negative counts from the end
 *     ({@code hidden_states} has one entry per layer plus the embeddings)
 * @param keepClassToken {@code vision_feature_select_strategy} "full" (true) or "default" (false: CLS dropped)
 * @param projectorAct {@code projector_hidden_act}, between the projector's two linears
 * @param projectorBias {@code multimodal_projector_bias}
 */
public record LlavaConfig(
    ClipVisionConfig vision,
    LlamaConfig text,
    int imageTokenIndex,
    int visionFeatureLayer,
    boolean keepClassToken,
    Activation projectorAct,
    boolean projectorBias) {

  public LlavaConfig {
    int states = vision.numHiddenLayers() + 1;
    if (visionFeatureLayer >= states || visionFeatureLayer < -states) {
      throw new IllegalArgumentException("vision_feature_layer " + visionFeatureLayer + " outside the tower's "
          + states + " hidden states");
    }
  }

  public static LlavaConfig load(Path modelDirectory) throws IOException {
    return fromJson(new ObjectMapper().readTree(modelDirectory.resolve("config.json").toFile()));
  }

  public static LlavaConfig fromJson(JsonNode c) {
    JsonNode layer = c.path("vision_feature_layer");
    if (layer.isArray()) {
      throw new IllegalArgumentException("vision_feature_layer lists " + layer + ": several layers are not supported");
    }
    String strategy = c.path("vision_feature_select_strategy").asText("default");
    if (!strategy.equals("default") && !strategy.equals("full")) {
      throw new IllegalArgumentException("vision_feature_select_strategy '" + strategy + "' is not supported");
    }
    return new LlavaConfig(
        ClipVisionConfig.fromJson(c.path("vision_config")),
        LlamaConfig.fromJson(c.path("text_config")),
        c.path("image_token_index").asInt(32000),
        layer.asInt(-2),
        strategy.equals("full"),
        Activation.fromConfig(c.path("projector_hidden_act").asText("gelu")),
        c.path("multimodal_projector_bias").asBoolean(true));
  }

  /** Image tokens each image becomes in the language model's input. */
  public int imageTokens() {
    int patches = vision.gridSize() * vision.gridSize();
    return keepClassToken ? patches + 1 : patches;
  }

  /** The index into the tower's hidden states (embeddings first) that {@link #visionFeatureLayer} names. */
  public int featureStateIndex() {
    int states = vision.numHiddenLayers() + 1;
    return visionFeatureLayer < 0 ? states + visionFeatureLayer : visionFeatureLayer;
  }

  /**
   * llava-hf/llava-1.5-7b-hf: CLIP ViT-L/14 at 336 px (24 layers), Vicuna-7B v1.5 (LLaMA-2 shapes, 32064-token
   * vocabulary after the conversion's padding), penultimate features without CLS, GELU projector.
   */
  public static LlavaConfig llava15x7b() {
    ClipVisionConfig vision = new ClipVisionConfig(1024, 4096, 24, 16, 3, 336, 14, Activation.QUICK_GELU, 1e-5);
    LlamaConfig text = new LlamaConfig(32064, 4096, 11008, 32, 32, 32, 128, 1e-5, 10000.0, 4096, false, false, false,
        1, List.of(2), 32001);
    return new LlavaConfig(vision, text, 32000, -2, false, Activation.GELU, true);
  }

  /** The same shapes with {@code visionLayers} tower layers and {@code textLayers} decoder layers (benchmarks). */
  public LlavaConfig withLayers(int visionLayers, int textLayers) {
    ClipVisionConfig v = vision;
    ClipVisionConfig fewer = new ClipVisionConfig(v.hiddenSize(), v.intermediateSize(), visionLayers,
        v.numAttentionHeads(), v.numChannels(), v.imageSize(), v.patchSize(), v.hiddenAct(), v.layerNormEps());
    int layer = visionFeatureLayer < 0 ? Math.max(visionFeatureLayer, -(visionLayers + 1)) : Math.min(visionFeatureLayer,
        visionLayers);
    return new LlavaConfig(fewer, text.withLayers(textLayers), imageTokenIndex, layer, keepClassToken, projectorAct,
        projectorBias);
  }
}

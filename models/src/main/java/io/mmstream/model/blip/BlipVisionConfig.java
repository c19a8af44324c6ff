package io.mmstream.model.blip;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.nn.Activation;

/** The ViT image tower of BLIP ({@code vision_config} of HF {@code BlipConfig}). */
public record BlipVisionConfig(
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numChannels,
    int imageSize,
    int patchSize,
    Activation hiddenAct,
    double layerNormEps) {

  public BlipVisionConfig {
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "vision hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
    }
    if (imageSize % patchSize != 0) {
      throw new IllegalArgumentException("vision image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
    }
  }

  /** Reads {@code vision_config}; absent fields take HF {@code BlipVisionConfig}'s defaults. */
  static BlipVisionConfig fromJson(JsonNode node) {
    return new BlipVisionConfig(
        node.path("hidden_size").asInt(768),
        node.path("intermediate_size").asInt(3072),
        node.path("num_hidden_layers").asInt(12),
        node.path("num_attention_heads").asInt(12),
        node.path("num_channels").asInt(3),
        node.path("image_size").asInt(384),
        node.path("patch_size").asInt(16),
        Activation.fromConfig(node.path("hidden_act").asText("gelu")),
        node.path("layer_norm_eps").asDouble(1e-5));
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  public int patchesPerSide() {
    return imageSize / patchSize;
  }

  /** Patch tokens plus the class token. */
  public int sequenceLength() {
    return patchesPerSide() * patchesPerSide() + 1;
  }
}

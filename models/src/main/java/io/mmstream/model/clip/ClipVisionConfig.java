package io.mmstream.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.nn.Activation;

/** The vision tower's part of a Hugging Face CLIP {@code config.json} ({@code vision_config}). */
public record ClipVisionConfig(
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numChannels,
    int imageSize,
    int patchSize,
    Activation hiddenAct,
    double layerNormEps) {

  public ClipVisionConfig {
    ClipConfig.requireHeadSplit("vision_config", hiddenSize, numAttentionHeads);
    if (patchSize <= 0 || imageSize % patchSize != 0) {
      throw new IllegalArgumentException(
          "vision_config: image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
    }
  }

  /** Reads {@code vision_config}; absent fields take Hugging Face's CLIPVisionConfig defaults. */
  public static ClipVisionConfig fromJson(JsonNode node) {
    return new ClipVisionConfig(
        ClipConfig.intField(node, "hidden_size", 768),
        ClipConfig.intField(node, "intermediate_size", 3072),
        ClipConfig.intField(node, "num_hidden_layers", 12),
        ClipConfig.intField(node, "num_attention_heads", 12),
        ClipConfig.intField(node, "num_channels", 3),
        ClipConfig.intField(node, "image_size", 224),
        ClipConfig.intField(node, "patch_size", 32),
        Activation.fromConfig(node.path("hidden_act").asText("quick_gelu")),
        node.path("layer_norm_eps").asDouble(1e-5));
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /** Patches per side of the (square) input. */
  public int gridSize() {
    return imageSize / patchSize;
  }

  /** Sequence length: one class token plus one token per patch. */
  public int numPositions() {
    return gridSize() * gridSize() + 1;
  }

  /**
   * Floating-point operations (2 per multiply-add) to encode one image: patch embedding, every
   * layer's projections, attention products and MLP, and the output projection. ViT-B/32 gives
   * 8.82 GFLOP.
   */
  public double flopsPerImage(int projectionDim) {
    double t = numPositions();
    double d = hiddenSize;
    double patches = (double) gridSize() * gridSize() * numChannels * patchSize * patchSize * d;
    double perLayer = t * d * 4 * d + 2 * t * d * intermediateSize + 2 * t * t * d;
    return 2 * (patches + numHiddenLayers * perLayer + d * projectionDim);
  }
}

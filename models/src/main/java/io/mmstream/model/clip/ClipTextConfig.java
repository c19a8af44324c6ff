package io.mmstream.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.nn.Activation;

/**
 * The text tower's part of a Hugging Face CLIP {@code config.json} ({@code text_config}). Token ids
 * of the special tokens come from the tokenizer files: published configs carry legacy values there.
 */
public record ClipTextConfig(
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int maxPositionEmbeddings,
    Activation hiddenAct,
    double layerNormEps) {

  public ClipTextConfig {
    ClipConfig.requireHeadSplit("text_config", hiddenSize, numAttentionHeads);
  }

  /** Reads {@code text_config}; absent fields take Hugging Face's CLIPTextConfig defaults. */
  static ClipTextConfig fromJson(JsonNode node) {
    return new ClipTextConfig(
        ClipConfig.intField(node, "vocab_size", 49408),
        ClipConfig.intField(node, "hidden_size", 512),
        ClipConfig.intField(node, "intermediate_size", 2048),
        ClipConfig.intField(node, "num_hidden_layers", 12),
        ClipConfig.intField(node, "num_attention_heads", 8),
        ClipConfig.intField(node, "max_position_embeddings", 77),
        Activation.fromConfig(node.path("hidden_act").asText("quick_gelu")),
        node.path("layer_norm_eps").asDouble(1e-5));
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /**
   * Floating-point operations (2 per multiply-add) to encode one full-context text: every layer's
   * projections, attention products and MLP over all {@code maxPositionEmbeddings} positions.
   */
  public double flopsPerText(int projectionDim) {
    double t = maxPositionEmbeddings;
    double d = hiddenSize;
    double perLayer = t * d * 4 * d + 2 * t * d * intermediateSize + 2 * t * t * d;
    return 2 * (numHiddenLayers * perLayer + d * projectionDim);
  }
}

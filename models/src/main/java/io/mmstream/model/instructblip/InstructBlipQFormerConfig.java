package io.mmstream.model.instructblip;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.nn.Activation;

/**
 * The instruction-aware Q-Former ({@code qformer_config} of HF {@code InstructBlipConfig}).
 *
 * @param crossAttentionFrequency layer {@code i} cross-attends to the image when {@code i % frequency == 0}
 * @param encoderHiddenSize width of the image states the query rows attend to
 */
public record InstructBlipQFormerConfig(
    int vocabSize,
    int hiddenSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int intermediateSize,
    Activation hiddenAct,
    double layerNormEps,
    int maxPositionEmbeddings,
    int crossAttentionFrequency,
    int encoderHiddenSize,
    int padTokenId) {

  public InstructBlipQFormerConfig {
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "qformer hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
    }
    if (crossAttentionFrequency < 1) {
      throw new IllegalArgumentException("qformer cross_attention_frequency must be >= 1, got " + crossAttentionFrequency);
    }
  }

  /** Reads {@code qformer_config}; absent fields take HF {@code InstructBlipQFormerConfig}'s defaults. */
  public static InstructBlipQFormerConfig fromJson(JsonNode c) {
    String positions = c.path("position_embedding_type").asText("absolute");
    if (!positions.equals("absolute")) {
      throw new IllegalArgumentException("qformer position_embedding_type '" + positions + "' is not supported");
    }
    return new InstructBlipQFormerConfig(
        c.path("vocab_size").asInt(30522),
        c.path("hidden_size").asInt(768),
        c.path("num_hidden_layers").asInt(12),
        c.path("num_attention_heads").asInt(12),
        c.path("intermediate_size").asInt(3072),
        Activation.fromConfig(c.path("hidden_act").asText("gelu")),
        c.path("layer_norm_eps").asDouble(1e-12),
        c.path("max_position_embeddings").asInt(512),
        c.path("cross_attention_frequency").asInt(2),
        c.path("encoder_hidden_size").asInt(1408),
        c.path("pad_token_id").asInt(0));
  }

  public boolean hasCrossAttention(int layer) {
    return layer % crossAttentionFrequency == 0;
  }

  /** InstructBLIP's released Q-Former: BERT-base with [DEC] added, cross-attention every 2nd layer, reading EVA ViT-g. */
  public static InstructBlipQFormerConfig released() {
    return new InstructBlipQFormerConfig(30523, 768, 12, 12, 3072, Activation.GELU, 1e-12, 512, 2, 1408, 0);
  }
}

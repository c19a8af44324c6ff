package io.mmstream.model.blip;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.nn.Activation;

/**
 * The BERT-style text towers of BLIP ({@code text_config} of HF {@code BlipConfig}): the caption /
 * answer decoder and the VQA question encoder share it.
 *
 * @param encoderHiddenSize input width of the cross-attention key/value layers that read image states
 * @param sepTokenId the stop token of generation (HF and the original pass it as eos)
 */
public record BlipTextConfig(
    int vocabSize,
    int hiddenSize,
    int encoderHiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int maxPositionEmbeddings,
    Activation hiddenAct,
    double layerNormEps,
    long bosTokenId,
    long padTokenId,
    long sepTokenId) {

  public BlipTextConfig {
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "text hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
    }
  }

  /**
   * Reads {@code text_config}; absent fields take HF {@code BlipTextConfig}'s defaults.
   * {@code encoder_hidden_size} follows the vision width as HF's {@code BlipConfig} forces it.
   */
  static BlipTextConfig fromJson(JsonNode node, int visionHiddenSize) {
    return new BlipTextConfig(
        node.path("vocab_size").asInt(30524),
        node.path("hidden_size").asInt(768),
        visionHiddenSize,
        node.path("intermediate_size").asInt(3072),
        node.path("num_hidden_layers").asInt(12),
        node.path("num_attention_heads").asInt(8),
        node.path("max_position_embeddings").asInt(512),
        Activation.fromConfig(node.path("hidden_act").asText("gelu")),
        node.path("layer_norm_eps").asDouble(1e-12),
        node.path("bos_token_id").asLong(30522),
        node.path("pad_token_id").asLong(0),
        node.path("sep_token_id").asLong(102));
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }
}

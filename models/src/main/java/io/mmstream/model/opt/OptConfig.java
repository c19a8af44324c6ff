package io.mmstream.model.opt;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.nn.Activation;

/**
 * HF {@code OPTConfig} ({@code text_config} of BLIP-2 OPT checkpoints).
 *
 * @param doLayerNormBefore pre-LN blocks (true for every size but 350m)
 * @param removeFinalLayerNorm {@code _remove_final_layer_norm}: no decoder {@code final_layer_norm}
 * @param wordEmbedProjDim width of the token embeddings; {@code project_in/out} map it to and from the hidden size
 * @param eosTokenId what generation stops on (BLIP-2 sets it to the id of "\n")
 */
public record OptConfig(
    int vocabSize,
    int hiddenSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int ffnDim,
    int maxPositionEmbeddings,
    boolean doLayerNormBefore,
    boolean removeFinalLayerNorm,
    int wordEmbedProjDim,
    Activation activation,
    boolean enableBias,
    int padTokenId,
    int bosTokenId,
    int eosTokenId) {

  /** OPT's learned positions are shifted by 2 (fairseq reserved rows 0 and 1 for padding). */
  public static final int POSITION_OFFSET = 2;

  /** OPT's LayerNorms use torch's default eps; the config has no field for it. */
  public static final double LAYER_NORM_EPS = 1e-5;

  public OptConfig {
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "OPT hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
    }
  }

  /** Reads {@code text_config}; absent fields take HF {@code OPTConfig}'s defaults (opt-350m shapes). */
  public static OptConfig fromJson(JsonNode c) {
    if (!c.path("layer_norm_elementwise_affine").asBoolean(true)) {
      throw new IllegalArgumentException("OPT layer_norm_elementwise_affine=false is not supported");
    }
    int hidden = c.path("hidden_size").asInt(768);
    return new OptConfig(
        c.path("vocab_size").asInt(50272),
        hidden,
        c.path("num_hidden_layers").asInt(12),
        c.path("num_attention_heads").asInt(12),
        c.path("ffn_dim").asInt(3072),
        c.path("max_position_embeddings").asInt(2048),
        c.path("do_layer_norm_before").asBoolean(true),
        c.path("_remove_final_layer_norm").asBoolean(false),
        c.path("word_embed_proj_dim").asInt(hidden),
        Activation.fromConfig(c.path("activation_function").asText("relu")),
        c.path("enable_bias").asBoolean(true),
        c.path("pad_token_id").asInt(1),
        c.path("bos_token_id").asInt(2),
        c.path("eos_token_id").asInt(2));
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /** Whether the decoder ends with {@code final_layer_norm} (HF: pre-LN and not removed). */
  public boolean hasFinalLayerNorm() {
    return doLayerNormBefore && !removeFinalLayerNorm;
  }

  /** facebook/opt-2.7b as Salesforce/blip2-opt-2.7b ships it (eos = "\n"). */
  public static OptConfig opt27b() {
    return new OptConfig(50272, 2560, 32, 32, 10240, 2048, true, false, 2560, Activation.RELU, true, 1, 2, 50118);
  }

  public OptConfig withLayers(int layers) {
    return new OptConfig(vocabSize, hiddenSize, layers, numAttentionHeads, ffnDim, maxPositionEmbeddings,
        doLayerNormBefore, removeFinalLayerNorm, wordEmbedProjDim, activation, enableBias, padTokenId, bosTokenId,
        eosTokenId);
  }
}

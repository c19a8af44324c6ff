package io.mmstream.model.chatglm;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * ChatGLM-6B's language model ({@code configuration_chatglm.ChatGLMConfig}); absent fields take its defaults.
 *
 * @param innerHiddenSize width of the MLP
 * @param positionEncoding2d rotary over two position rows (token position, block position); must be true
 * @param maxSequenceLength longest sequence the model was trained for (its context)
 * @param bosTokenId {@code <sop>}: starts the generated block
 * @param eosTokenId {@code <eop>}: ends it
 * @param maskTokenId {@code [MASK]}
 * @param gmaskTokenId {@code [gMASK]}: the generation mask the chat prompt ends with
 */
public record ChatGlmConfig(
    int vocabSize,
    int hiddenSize,
    int innerHiddenSize,
    int numLayers,
    int numAttentionHeads,
    double layerNormEps,
    boolean positionEncoding2d,
    int maxSequenceLength,
    long bosTokenId,
    long eosTokenId,
    long maskTokenId,
    long gmaskTokenId,
    long padTokenId) {

  /**
   * The depth that fixes the residual scale {@code alpha = sqrt(2 * 28)}: the HF {@code GLMBlock} defaults
   * {@code num_layers=28} and {@code ChatGLMModel} never passes the config's value, so alpha is the same at any depth.
   */
  public static final int RESIDUAL_ALPHA_LAYERS = 28;

  /** ChatGLM's rotary base. */
  public static final double ROTARY_THETA = 10000.0;

  public ChatGlmConfig {
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
    }
    if (!positionEncoding2d) {
      throw new IllegalArgumentException("position_encoding_2d false is not supported (every released ChatGLM-6B uses 2D)");
    }
    int headDim = hiddenSize / numAttentionHeads;
    if (headDim % 4 != 0) {
      throw new IllegalArgumentException("head dim " + headDim + " cannot be split into two rotary halves");
    }
  }

  public static ChatGlmConfig fromJson(JsonNode c) {
    return new ChatGlmConfig(
        c.path("vocab_size").asInt(150528),
        c.path("hidden_size").asInt(4096),
        c.path("inner_hidden_size").asInt(16384),
        c.path("num_layers").asInt(28),
        c.path("num_attention_heads").asInt(32),
        c.path("layernorm_epsilon").asDouble(1e-5),
        c.path("position_encoding_2d").asBoolean(true),
        c.path("max_sequence_length").asInt(2048),
        c.path("bos_token_id").asLong(150004),
        c.path("eos_token_id").asLong(150005),
        c.path("mask_token_id").asLong(150000),
        c.path("gmask_token_id").asLong(150001),
        c.path("pad_token_id").asLong(0));
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /** {@code sqrt(2 * 28)}, see {@link #RESIDUAL_ALPHA_LAYERS}. */
  public float residualAlpha() {
    return (float) Math.sqrt(2.0 * RESIDUAL_ALPHA_LAYERS);
  }

  /** These shapes with {@code layers} blocks (benchmarks of part of the depth). */
  public ChatGlmConfig withNumLayers(int layers) {
    return new ChatGlmConfig(vocabSize, hiddenSize, innerHiddenSize, layers, numAttentionHeads, layerNormEps,
        positionEncoding2d, maxSequenceLength, bosTokenId, eosTokenId, maskTokenId, gmaskTokenId, padTokenId);
  }

  /** ChatGLM-6B's real shapes (vocab as VisualGLM-6B ships it). */
  public static ChatGlmConfig visualGlm6b() {
    return new ChatGlmConfig(130528, 4096, 16384, 28, 32, 1e-5, true, 2048, 130004, 130005, 130000, 130001, 3);
  }
}

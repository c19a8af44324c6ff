package io.mmstream.model.qwen;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The Qwen language model's shape, read from a {@code QWenConfig} config.json (missing fields take QWenConfig's
 * defaults, Qwen-7B's).
 *
 * @param seqLength the training context: dynamic NTK and logn attention act only on sequences longer than it
 * @param noBias no bias on the attention output and MLP projections ({@code c_attn} always has one)
 * @param scaleAttnWeights divide attention scores by {@code sqrt(head_dim)}
 */
public record QwenConfig(
    int vocabSize,
    int hiddenSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int kvChannels,
    int intermediateSize,
    double layerNormEpsilon,
    double rotaryEmbBase,
    double rotaryPct,
    int seqLength,
    boolean useDynamicNtk,
    boolean useLognAttn,
    boolean noBias,
    boolean scaleAttnWeights) {

  public QwenConfig {
    if (kvChannels * numAttentionHeads != hiddenSize) {
      throw new IllegalArgumentException("Qwen splits c_attn by hidden_size: kv_channels " + kvChannels
          + " x num_attention_heads " + numAttentionHeads + " must equal hidden_size " + hiddenSize);
    }
    if (rotaryDim() % 2 != 0) {
      throw new IllegalArgumentException("rotary needs an even dimension, got " + rotaryDim());
    }
  }

  public static QwenConfig fromJson(JsonNode c) {
    return new QwenConfig(
        c.path("vocab_size").asInt(151936),
        c.path("hidden_size").asInt(4096),
        c.path("num_hidden_layers").asInt(32),
        c.path("num_attention_heads").asInt(32),
        c.path("kv_channels").asInt(128),
        c.path("intermediate_size").asInt(22016),
        c.path("layer_norm_epsilon").asDouble(1e-6),
        c.path("rotary_emb_base").asDouble(10000),
        c.path("rotary_pct").asDouble(1.0),
        c.path("seq_length").asInt(2048),
        c.path("use_dynamic_ntk").asBoolean(true),
        c.path("use_logn_attn").asBoolean(true),
        c.path("no_bias").asBoolean(true),
        c.path("scale_attn_weights").asBoolean(true));
  }

  /** Qwen-VL-Chat's language model (Qwen-7B shapes, vocabulary with the image specials). */
  public static QwenConfig qwenVlChat() {
    return new QwenConfig(151936, 4096, 32, 32, 128, 22016, 1e-6, 10000, 1.0, 2048, true, true, true, true);
  }

  public QwenConfig withLayers(int layers) {
    return new QwenConfig(vocabSize, hiddenSize, layers, numAttentionHeads, kvChannels, intermediateSize,
        layerNormEpsilon, rotaryEmbBase, rotaryPct, seqLength, useDynamicNtk, useLognAttn, noBias, scaleAttnWeights);
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /** The rotated leading dimensions of each head ({@code kv_channels * rotary_pct}). */
  public int rotaryDim() {
    return rotaryPct == 1.0 ? kvChannels : (int) (kvChannels * rotaryPct);
  }

  /** The MLP's width: {@code intermediate_size // 2} (w1 and w2 each take half of the original's count). */
  public int mlpWidth() {
    return intermediateSize / 2;
  }
}

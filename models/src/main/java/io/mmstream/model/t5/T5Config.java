package io.mmstream.model.t5;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.nn.Activation;

/**
 * HF {@code T5Config} (T5 v1.1 / Flan-T5 as BLIP-2 and InstructBLIP ship it in {@code text_config}).
 *
 * @param gatedFeedForward {@code wo(act(wi_0 x) * wi_1 x)} ("gated-*" {@code feed_forward_proj}) rather than {@code wo(act(wi x))}
 * @param activation {@code dense_act_fn} when the config has it (BLIP-2's "gelu", exact erf), else what
 *     {@code feed_forward_proj} implies ("gated-gelu" means the tanh {@code gelu_new}, HF's back-compat rule)
 * @param tieWordEmbeddings the LM head is {@code shared} and the decoder output is scaled by {@code d_model^-0.5}
 */
public record T5Config(
    int vocabSize,
    int dModel,
    int dKv,
    int dFf,
    int numLayers,
    int numDecoderLayers,
    int numHeads,
    int relativeAttentionNumBuckets,
    int relativeAttentionMaxDistance,
    double layerNormEpsilon,
    boolean gatedFeedForward,
    Activation activation,
    boolean tieWordEmbeddings,
    int decoderStartTokenId,
    int eosTokenId,
    int padTokenId) {

  /** Reads {@code text_config}; absent fields take HF {@code T5Config}'s defaults. */
  public static T5Config fromJson(JsonNode c) {
    String projection = c.path("feed_forward_proj").asText("relu");
    boolean gated = projection.startsWith("gated-");
    String implied = gated ? projection.substring("gated-".length()) : projection;
    if (implied.equals("gelu")) {
      implied = "gelu_new";
    }
    int layers = c.path("num_layers").asInt(6);
    return new T5Config(
        c.path("vocab_size").asInt(32128),
        c.path("d_model").asInt(512),
        c.path("d_kv").asInt(64),
        c.path("d_ff").asInt(2048),
        layers,
        c.path("num_decoder_layers").asInt(layers),
        c.path("num_heads").asInt(8),
        c.path("relative_attention_num_buckets").asInt(32),
        c.path("relative_attention_max_distance").asInt(128),
        c.path("layer_norm_epsilon").asDouble(1e-6),
        gated,
        Activation.fromConfig(c.path("dense_act_fn").asText(implied)),
        c.path("tie_word_embeddings").asBoolean(true),
        c.path("decoder_start_token_id").asInt(0),
        c.path("eos_token_id").asInt(1),
        c.path("pad_token_id").asInt(0));
  }

  public int innerDim() {
    return numHeads * dKv;
  }

  /** google/flan-t5-xl as Salesforce/blip2-flan-t5-xl ships it (exact-erf GELU, untied head). */
  public static T5Config flanT5Xl() {
    return new T5Config(32128, 2048, 64, 5120, 24, 24, 32, 32, 128, 1e-6, true, Activation.GELU, false, 0, 1, 0);
  }

  public T5Config withLayers(int encoderLayers, int decoderLayers) {
    return new T5Config(vocabSize, dModel, dKv, dFf, encoderLayers, decoderLayers, numHeads,
        relativeAttentionNumBuckets, relativeAttentionMaxDistance, layerNormEpsilon, gatedFeedForward, activation,
        tieWordEmbeddings, decoderStartTokenId, eosTokenId, padTokenId);
  }
}

package io.mmstream.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A LLaMA decoder's shape, read from a Hugging Face {@code LlamaConfig} (a model's config.json, or
 * the {@code text_config} of a multimodal one). Missing fields take LlamaConfig's defaults (LLaMA-7B).
 *
 * @param eosTokenIds every id that ends a sequence (newer configs list several)
 */
public record LlamaConfig(
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    int maxPositionEmbeddings,
    boolean attentionBias,
    boolean mlpBias,
    boolean tieWordEmbeddings,
    int bosTokenId,
    List<Integer> eosTokenIds,
    int padTokenId) {

  public LlamaConfig {
    eosTokenIds = List.copyOf(eosTokenIds);
    if (numAttentionHeads % numKeyValueHeads != 0) {
      throw new IllegalArgumentException(
          "num_attention_heads " + numAttentionHeads + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
    }
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException("rotary embedding needs an even head_dim, got " + headDim);
    }
  }

  public static LlamaConfig fromJson(JsonNode c) {
    String act = c.path("hidden_act").asText("silu");
    if (!act.equals("silu")) {
      throw new IllegalArgumentException("LLaMA with hidden_act '" + act + "' is not supported (SwiGLU needs silu)");
    }
    JsonNode scaling = c.path("rope_scaling");
    if (!scaling.isMissingNode() && !scaling.isNull()) {
      throw new IllegalArgumentException("rope_scaling " + scaling + " is not supported");
    }
    int hidden = c.path("hidden_size").asInt(4096);
    int heads = c.path("num_attention_heads").asInt(32);
    JsonNode kvHeads = c.path("num_key_value_heads");
    JsonNode headDim = c.path("head_dim");
    return new LlamaConfig(
        c.path("vocab_size").asInt(32000),
        hidden,
        c.path("intermediate_size").asInt(11008),
        c.path("num_hidden_layers").asInt(32),
        heads,
        kvHeads.isNull() || kvHeads.isMissingNode() ? heads : kvHeads.asInt(),
        headDim.isNull() || headDim.isMissingNode() ? hidden / heads : headDim.asInt(),
        c.path("rms_norm_eps").asDouble(1e-6),
        c.path("rope_theta").asDouble(10000.0),
        c.path("max_position_embeddings").asInt(2048),
        c.path("attention_bias").asBoolean(false),
        c.path("mlp_bias").asBoolean(false),
        c.path("tie_word_embeddings").asBoolean(false),
        c.path("bos_token_id").asInt(1),
        ids(c.path("eos_token_id"), 2),
        c.path("pad_token_id").isNull() ? 0 : c.path("pad_token_id").asInt(0));
  }

  private static List<Integer> ids(JsonNode node, int fallback) {
    if (node.isMissingNode() || node.isNull()) {
      return List.of(fallback);
    }
    if (!node.isArray()) {
      return List.of(node.asInt());
    }
    List<Integer> out = new ArrayList<>();
    node.forEach(n -> out.add(n.asInt()));
    return out;
  }

  /** Vicuna-7B v1.1 as InstructBLIP ships it: LLaMA-7B shapes, one added [PAD] token. */
  public static LlamaConfig vicuna7b() {
    return new LlamaConfig(32001, 4096, 11008, 32, 32, 32, 128, 1e-6, 10000.0, 2048, false, false, false, 1,
        List.of(2), 0);
  }

  /** The same shapes with only {@code layers} decoder layers (benchmarks that must fit a small machine). */
  public LlamaConfig withLayers(int layers) {
    return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, layers, numAttentionHeads, numKeyValueHeads,
        headDim, rmsNormEps, ropeTheta, maxPositionEmbeddings, attentionBias, mlpBias, tieWordEmbeddings,
        bosTokenId, eosTokenIds, padTokenId);
  }
}

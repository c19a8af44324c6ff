package io.mmstream.model.visualglm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.blip.BlipVisionConfig;
import io.mmstream.model.chatglm.ChatGlmConfig;
import io.mmstream.model.nn.Activation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * VisualGLM-6B's config.json: ChatGLM's keys at the top level, plus {@code eva_config} and {@code qformer_config}
 * (SwissArmyTransformer model args) and {@code image_length}.
 *
 * @param vision the EVA ViT in BLIP's terms (sat {@code ViTModel}: pre-LN blocks, exact-erf GELU)
 * @param imageLength how many image tokens (query outputs) replace the prompt's placeholders
 */
public record VisualGlmConfig(ChatGlmConfig glm, BlipVisionConfig vision, QFormerConfig qformer, int imageLength) {

  /** {@code ln_vision} is a plain {@code torch.nn.LayerNorm}: torch's default eps, not the ViT's. */
  public static final double LN_VISION_EPS = 1e-5;

  /**
   * The sat Q-Former (a post-LN BERT over learned query tokens).
   *
   * @param numQueries query tokens ({@code vocab_size}: the queries are its word embeddings)
   * @param crossAttention per layer, whether it cross-attends to the image ({@code is_decoder})
   * @param crossAttentionWidth width of the image states ({@code cross_attn_hidden_size})
   */
  public record QFormerConfig(int numQueries, int hiddenSize, int numAttentionHeads, int innerHiddenSize,
      boolean[] crossAttention, int crossAttentionWidth, double layerNormEps) {
    public QFormerConfig {
      if (hiddenSize % numAttentionHeads != 0) {
        throw new IllegalArgumentException(
            "qformer hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
      }
      crossAttention = crossAttention.clone();
    }

    public int numLayers() {
      return crossAttention.length;
    }

    /** The one true Q-Former of BLIP-2: BERT-base, 32 queries, cross-attention every other layer from EVA ViT-g. */
    public static QFormerConfig released() {
      boolean[] cross = new boolean[12];
      for (int i = 0; i < cross.length; i += 2) {
        cross[i] = true;
      }
      return new QFormerConfig(32, 768, 12, 3072, cross, 1408, 1e-12);
    }
  }

  public VisualGlmConfig {
    if (imageLength != qformer.numQueries()) {
      throw new IllegalArgumentException(
          "image_length " + imageLength + " differs from the Q-Former's " + qformer.numQueries() + " queries");
    }
  }

  public static VisualGlmConfig load(Path modelDirectory) throws IOException {
    Path file = modelDirectory.resolve("config.json");
    if (!Files.isRegularFile(file)) {
      throw new IOException(modelDirectory + ": no config.json");
    }
    return fromJson(new ObjectMapper().readTree(file.toFile()));
  }

  /** True for a ChatGLM config with VisualGLM's image module. */
  public static boolean hasImageModule(JsonNode config) {
    return config.has("eva_config") && config.has("qformer_config");
  }

  public static VisualGlmConfig fromJson(JsonNode c) {
    if (!hasImageModule(c)) {
      throw new IllegalArgumentException("config.json has no eva_config/qformer_config: not VisualGLM");
    }
    return new VisualGlmConfig(
        ChatGlmConfig.fromJson(c), vision(c.get("eva_config")), qformer(c.get("qformer_config")),
        c.path("image_length").asInt(32));
  }

  private static BlipVisionConfig vision(JsonNode e) {
    JsonNode size = e.path("image_size");
    int height = size.isArray() ? size.get(0).asInt() : size.asInt(224);
    int width = size.isArray() ? size.get(1).asInt() : height;
    if (height != width) {
      throw new IllegalArgumentException("eva_config image_size " + size + " is not square");
    }
    if (e.path("use_final_layernorm").asBoolean(false)) {
      throw new IllegalArgumentException("eva_config use_final_layernorm true is not VisualGLM's ViT");
    }
    int hidden = e.path("hidden_size").asInt(1408);
    return new BlipVisionConfig(
        hidden,
        e.path("inner_hidden_size").asInt(4 * hidden),
        e.path("num_layers").asInt(39),
        e.path("num_attention_heads").asInt(16),
        e.path("in_channels").asInt(3),
        height,
        e.path("patch_size").asInt(14),
        Activation.GELU,
        e.path("layernorm_epsilon").asDouble(1e-6));
  }

  private static QFormerConfig qformer(JsonNode q) {
    JsonNode decoder = q.path("is_decoder");
    int layers = q.path("num_layers").asInt(12);
    if (decoder.isArray() && decoder.size() != layers) {
      throw new IllegalArgumentException("qformer_config is_decoder has " + decoder.size() + " entries for "
          + layers + " layers");
    }
    boolean[] cross = new boolean[layers];
    for (int i = 0; i < layers; i++) {
      cross[i] = decoder.isArray() ? decoder.get(i).asBoolean() : decoder.asBoolean(false);
    }
    int hidden = q.path("hidden_size").asInt(768);
    return new QFormerConfig(
        q.path("vocab_size").asInt(32),
        hidden,
        q.path("num_attention_heads").asInt(12),
        q.path("inner_hidden_size").asInt(4 * hidden),
        cross,
        q.path("cross_attn_hidden_size").asInt(1408),
        q.path("layernorm_epsilon").asDouble(1e-12));
  }

  /** VisualGLM-6B's real shapes: EVA ViT-g/14 (39 layers), BLIP-2's Q-Former, ChatGLM-6B. */
  public static VisualGlmConfig visualGlm6b() {
    BlipVisionConfig eva = new BlipVisionConfig(1408, 6144, 39, 16, 3, 224, 14, Activation.GELU, 1e-6);
    return new VisualGlmConfig(ChatGlmConfig.visualGlm6b(), eva, QFormerConfig.released(), 32);
  }
}

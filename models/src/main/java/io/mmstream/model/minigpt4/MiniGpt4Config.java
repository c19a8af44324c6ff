package io.mmstream.model.minigpt4;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.blip.BlipVisionConfig;
import io.mmstream.model.blip2.Blip2Config;
import io.mmstream.model.instructblip.InstructBlipQFormerConfig;
import io.mmstream.model.llama.LlamaConfig;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.tensor.WeightException;
import io.mmstream.model.tensor.WeightStore;

/**
 * MiniGPT-4's shapes. The original has no config for its towers: {@code create_eva_vit_g} and {@code init_Qformer}
 * hard-code EVA ViT-g and bert-base, so widths, depths and feed-forward sizes are read from the checkpoint's tensor
 * shapes, the image size and query count from the eval config, the language model from Vicuna's config.json.
 *
 * @param queryEncoder the BLIP-2 half: EVA ViT, query-only Q-Former, query count
 */
public record MiniGpt4Config(Blip2Config queryEncoder, LlamaConfig text) {

  /** The query encoder is BLIP-2's (a Q-Former over its queries only). */
  private static final String BLIP2_TYPE = "blip-2";
  /** EVA blocks: {@code partial(nn.LayerNorm, eps=1e-6)}. */
  static final double EVA_BLOCK_EPS = 1e-6;
  /** {@code create_eva_vit_g}: {@code num_heads = embed_dim // 88}. */
  static final int EVA_HEAD_DIM = 88;
  /** The Q-Former is bert-base: 768 wide, 12 heads of 64. */
  static final int BERT_HEAD_DIM = 64;
  static final double BERT_LAYER_NORM_EPS = 1e-12;
  /** {@code init_Qformer(cross_attention_freq=2)}: layers 0, 2, 4, ... cross-attend to the image. */
  static final int CROSS_ATTENTION_FREQUENCY = 2;

  public MiniGpt4Config {
    if (queryEncoder.instructionAware()) {
      throw new IllegalArgumentException("MiniGPT-4's Q-Former reads no instruction");
    }
  }

  static MiniGpt4Config of(
      BlipVisionConfig vision, InstructBlipQFormerConfig qformer, int numQueryTokens, LlamaConfig text) {
    return new MiniGpt4Config(new Blip2Config(BLIP2_TYPE, vision, qformer, numQueryTokens, "llama", null), text);
  }

  public BlipVisionConfig vision() {
    return queryEncoder.vision();
  }

  public InstructBlipQFormerConfig qformer() {
    return queryEncoder.qformer();
  }

  /** Rows the Q-Former hands to the projection. */
  public int numQueryTokens() {
    return queryEncoder.numQueryTokens();
  }

  /**
   * Shapes of the checkpoints in {@code original} (keys as MiniGPT-4's state dict names them). Head counts are not
   * in any file: the original's rules ({@code width // 88} for the ViT, 64-wide heads for the Q-Former) apply where
   * they divide the width; scaled-down checkpoints, which the original's hard-coded sizes cannot build, use the
   * language model's head count throughout.
   */
  static MiniGpt4Config infer(WeightStore original, MiniGpt4Files files, LlamaConfig text) {
    long[] pos = shape(original, "visual_encoder.pos_embed");
    long[] patch = shape(original, "visual_encoder.patch_embed.proj.weight");
    int width = (int) pos[2];
    int patchSize = (int) patch[3];
    int side = files.imageSize() / patchSize;
    if (pos[1] != (long) side * side + 1) {
      throw new WeightException(files.vision() + ": pos_embed has " + pos[1] + " positions, image_size "
          + files.imageSize() + " needs " + (side * side + 1) + " (interpolate_pos_embed is not supported)");
    }
    int depth = count(original, "visual_encoder.blocks.%d.norm1.weight");
    int mlp = (int) shape(original, "visual_encoder.blocks.0.mlp.fc1.weight")[0];
    BlipVisionConfig vision = new BlipVisionConfig(width, mlp, depth, heads(width, EVA_HEAD_DIM, text),
        (int) patch[1], files.imageSize(), patchSize, Activation.GELU, EVA_BLOCK_EPS);

    long[] queries = shape(original, "query_tokens");
    int hidden = (int) queries[2];
    if (queries[1] != files.numQueryTokens()) {
      throw new WeightException(files.qformer() + ": query_tokens has " + queries[1] + " rows, num_query_token is "
          + files.numQueryTokens());
    }
    int layers = count(original, "Qformer.bert.encoder.layer.%d.attention.self.query.weight");
    for (int i = 0; i < layers; i++) {
      boolean cross = original.contains("Qformer.bert.encoder.layer." + i + ".crossattention.self.query.weight");
      if (cross != (i % CROSS_ATTENTION_FREQUENCY == 0)) {
        throw new WeightException(files.qformer() + ": Q-Former layer " + i + (cross ? " has" : " lacks")
            + " cross-attention; the original puts it in every " + CROSS_ATTENTION_FREQUENCY + "nd layer from 0");
      }
    }
    int intermediate = (int) shape(original, "Qformer.bert.encoder.layer.0.intermediate_query.dense.weight")[0];
    InstructBlipQFormerConfig qformer = new InstructBlipQFormerConfig(0, hidden, layers,
        heads(hidden, BERT_HEAD_DIM, text), intermediate, Activation.GELU, BERT_LAYER_NORM_EPS, 0,
        CROSS_ATTENTION_FREQUENCY, width, 0);
    return of(vision, qformer, (int) queries[1], text);
  }

  /** MiniGPT-4 7B as released: EVA ViT-g/14 at 224, bert-base Q-Former with 32 queries, Vicuna-7B (v0: 32001 tokens). */
  public static MiniGpt4Config vicuna7b() {
    return of(
        new BlipVisionConfig(1408, 6144, 39, 16, 3, 224, 14, Activation.GELU, EVA_BLOCK_EPS),
        new InstructBlipQFormerConfig(0, 768, 12, 12, 3072, Activation.GELU, BERT_LAYER_NORM_EPS, 0,
            CROSS_ATTENTION_FREQUENCY, 1408, 0),
        32,
        LlamaConfig.vicuna7b());
  }

  /** The same shapes with fewer layers per tower (benchmarks that must fit a small machine). */
  public MiniGpt4Config withLayers(int visionLayers, int qformerLayers, int textLayers) {
    BlipVisionConfig v = vision();
    InstructBlipQFormerConfig q = qformer();
    return of(
        new BlipVisionConfig(v.hiddenSize(), v.intermediateSize(), visionLayers, v.numAttentionHeads(),
            v.numChannels(), v.imageSize(), v.patchSize(), v.hiddenAct(), v.layerNormEps()),
        new InstructBlipQFormerConfig(q.vocabSize(), q.hiddenSize(), qformerLayers, q.numAttentionHeads(),
            q.intermediateSize(), q.hiddenAct(), q.layerNormEps(), q.maxPositionEmbeddings(),
            q.crossAttentionFrequency(), q.encoderHiddenSize(), q.padTokenId()),
        numQueryTokens(),
        text.withLayers(textLayers));
  }

  private static int heads(int width, int originalHeadDim, LlamaConfig text) {
    return width % originalHeadDim == 0 ? width / originalHeadDim : text.numAttentionHeads();
  }

  private static long[] shape(WeightStore store, String key) {
    NDArray a = store.load(key, null)
        .orElseThrow(() -> new WeightException(store.describe() + ": missing tensor '" + key + "'"));
    long[] shape = a.getShape().getShape();
    a.close();
    return shape;
  }

  private static int count(WeightStore store, String pattern) {
    int n = 0;
    while (store.contains(String.format(pattern, n))) {
      n++;
    }
    return n;
  }
}

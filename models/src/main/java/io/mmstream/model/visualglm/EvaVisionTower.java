package io.mmstream.model.visualglm;

import io.mmstream.model.blip.BlipVisionAttention;
import io.mmstream.model.blip.BlipVisionConfig;
import io.mmstream.model.blip.BlipVisionEmbeddings;
import io.mmstream.model.blip.BlipVisionEncoderLayer;
import io.mmstream.model.blip.BlipVisionModel;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * VisualGLM's EVA ViT ({@code image_encoder.vit}, a SwissArmyTransformer {@code ViTModel}) read into the
 * project's BLIP/EVA classes: the maths is BLIP-2's (pre-LN blocks, fused {@code [q; k; v]} with a full bias,
 * exact GELU, {@code ln_vision} at the end); only the names differ. The class token is the transformer's single
 * word embedding, and {@code ln_vision} lives in the {@code cls} mixin.
 */
final class EvaVisionTower {
  private EvaVisionTower() {}

  static BlipVisionModel load(Weights w, BlipVisionConfig c) {
    long d = c.hiddenSize();
    long p = c.patchSize();
    Weights t = w.sub("transformer");
    Weights patch = w.sub("mixins").sub("patch_embedding").sub("proj");
    BlipVisionEmbeddings embeddings = new BlipVisionEmbeddings(
        t.sub("word_embeddings").get("weight", 1, d).reshape(1, 1, d),
        patch.get("weight", d, c.numChannels(), p, p),
        patch.get("bias", d),
        t.sub("position_embeddings").get("weight", c.sequenceLength(), d).reshape(1, c.sequenceLength(), d),
        c.patchSize());
    List<BlipVisionEncoderLayer> layers = new ArrayList<>();
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      Weights l = t.sub("layers").sub(i);
      layers.add(new BlipVisionEncoderLayer(
          LayerNorm.load(l.sub("input_layernorm"), d, c.layerNormEps()),
          new BlipVisionAttention(
              Linear.load(l.sub("attention").sub("query_key_value"), d, 3 * d, true),
              Linear.load(l.sub("attention").sub("dense"), d, d, true),
              c.numAttentionHeads(), c.headDim()),
          LayerNorm.load(l.sub("post_attention_layernorm"), d, c.layerNormEps()),
          Linear.load(l.sub("mlp").sub("dense_h_to_4h"), d, c.intermediateSize(), true),
          Linear.load(l.sub("mlp").sub("dense_4h_to_h"), c.intermediateSize(), d, true),
          c.hiddenAct()));
    }
    LayerNorm lnVision = LayerNorm.load(w.sub("mixins").sub("cls").sub("ln_vision"), d, VisualGlmConfig.LN_VISION_EPS);
    return new BlipVisionModel(embeddings, layers, lnVision);
  }
}

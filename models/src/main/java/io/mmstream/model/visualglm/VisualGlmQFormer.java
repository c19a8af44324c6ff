package io.mmstream.model.visualglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.mmstream.model.blip.BlipTextAttention;
import io.mmstream.model.blip.BlipTextSelfAttention;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * VisualGLM's Q-Former ({@code image_encoder.qformer}, a SwissArmyTransformer post-LN model over the 32 query
 * tokens, no position embeddings, no text) run as the BERT layers of the project's BLIP classes.
 *
 * <p>sat applies each layer's {@code input_layernorm} to the layer's input, where BERT applies the same norm as
 * the previous layer's last step; so layer 0's is BERT's embedding LayerNorm, layer i+1's closes layer i's
 * feed-forward, and {@code final_layernorm} closes the last. The fused self-attention {@code query_key_value} is
 * sat's {@code [q; k; v]} blocks, and the cross-attention's {@code key_value} is {@code [k; v]}.
 */
public final class VisualGlmQFormer {
  private final NDArray queryTokens;
  private final LayerNorm inputLayerNorm;
  private final List<Layer> layers;

  private record Layer(BlipTextAttention attention, BlipTextAttention crossAttention, Linear up, Linear down,
      LayerNorm outputLayerNorm) {

    NDArray forward(NDArray x, NDArray image) {
      BlipTextSelfAttention self = attention.attention();
      NDArray h = attention.output(self.attend(self.queries(x), self.keys(x), self.values(x), null), x);
      if (crossAttention != null) {
        BlipTextSelfAttention cross = crossAttention.attention();
        h = crossAttention.output(cross.attend(cross.queries(h), cross.keys(image), cross.values(image), null), h);
      }
      return outputLayerNorm.forward(down.forward(Activation.GELU.apply(up.forward(h))).add(h));
    }
  }

  private VisualGlmQFormer(NDArray queryTokens, LayerNorm inputLayerNorm, List<Layer> layers) {
    this.queryTokens = queryTokens;
    this.inputLayerNorm = inputLayerNorm;
    this.layers = List.copyOf(layers);
  }

  /** Loads {@code transformer.*} under {@code w} ({@code image_encoder.qformer}). */
  public static VisualGlmQFormer load(Weights w, VisualGlmConfig.QFormerConfig c) {
    Weights t = w.sub("transformer");
    long h = c.hiddenSize();
    int heads = c.numAttentionHeads();
    int headDim = c.hiddenSize() / heads;
    List<Layer> layers = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      Weights l = t.sub("layers").sub(i);
      Weights a = l.sub("attention");
      Linear[] qkv = split(Linear.load(a.sub("query_key_value"), h, 3 * h, true), 3, h);
      BlipTextAttention attention = new BlipTextAttention(
          new BlipTextSelfAttention(qkv[0], qkv[1], qkv[2], heads, headDim),
          Linear.load(a.sub("dense"), h, h, true),
          LayerNorm.load(l.sub("post_attention_layernorm"), h, c.layerNormEps()));
      BlipTextAttention cross = null;
      if (c.crossAttention()[i]) {
        Weights x = l.sub("cross_attention");
        Linear[] kv = split(Linear.load(x.sub("key_value"), c.crossAttentionWidth(), 2 * h, true), 2, h);
        cross = new BlipTextAttention(
            new BlipTextSelfAttention(Linear.load(x.sub("query"), h, h, true), kv[0], kv[1], heads, headDim),
            Linear.load(x.sub("dense"), h, h, true),
            LayerNorm.load(l.sub("post_cross_attention_layernorm"), h, c.layerNormEps()));
      }
      Weights next = i + 1 < c.numLayers() ? t.sub("layers").sub(i + 1).sub("input_layernorm") : t.sub("final_layernorm");
      layers.add(new Layer(attention, cross,
          Linear.load(l.sub("mlp").sub("dense_h_to_4h"), h, c.innerHiddenSize(), true),
          Linear.load(l.sub("mlp").sub("dense_4h_to_h"), c.innerHiddenSize(), h, true),
          LayerNorm.load(next, h, c.layerNormEps())));
    }
    return new VisualGlmQFormer(
        t.sub("word_embeddings").get("weight", c.numQueries(), h),
        LayerNorm.load(t.sub("layers").sub(0).sub("input_layernorm"), h, c.layerNormEps()),
        layers);
  }

  /** A fused projection cut row-wise into {@code parts} projections of {@code rows} outputs each. */
  private static Linear[] split(Linear fused, int parts, long rows) {
    Linear[] out = new Linear[parts];
    for (int i = 0; i < parts; i++) {
      NDIndex slice = new NDIndex(i * rows + ":" + (i + 1) * rows);
      out[i] = new Linear(fused.weight().get(slice), fused.bias().get(slice));
    }
    return out;
  }

  /** The query outputs {@code [B, Q, H]} after the final LayerNorm, reading image states {@code [B, S, W]}. */
  public NDArray forward(NDArray image) {
    long batch = image.getShape().get(0);
    return LayerScope.apply(image, img -> {
      // Taken through the call's manager so the per-call copy is freed with the call, not the weights.
      NDArray queries = queryTokens.get(img.getManager(), new NDIndex("...")).expandDims(0).repeat(0, batch);
      NDArray x = inputLayerNorm.forward(queries);
      for (Layer layer : layers) {
        NDArray in = x;
        x = LayerScope.apply(in, q -> layer.forward(q, img));
      }
      return x;
    });
  }
}

package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * BLIP's ViT image tower (HF {@code vision_model}): embeddings, pre-LN blocks, a final LayerNorm.
 * The decoder cross-attends to all of its output tokens.
 */
public final class BlipVisionModel {
  private final BlipVisionEmbeddings embeddings;
  private final List<BlipVisionEncoderLayer> layers;
  private final LayerNorm postLayerNorm;

  public BlipVisionModel(BlipVisionEmbeddings embeddings, List<BlipVisionEncoderLayer> layers, LayerNorm postLayerNorm) {
    this.embeddings = embeddings;
    this.layers = List.copyOf(layers);
    this.postLayerNorm = postLayerNorm;
  }

  /** Loads the tower under {@code w} (usually {@code vision_model}); the post-LayerNorm uses the config's eps. */
  public static BlipVisionModel load(Weights w, BlipVisionConfig config) {
    return load(w, config, config.layerNormEps());
  }

  /**
   * Loads the tower with an explicit post-LayerNorm eps: checkpoints derived from BLIP (InstructBLIP)
   * use a different eps there than inside the blocks.
   */
  public static BlipVisionModel load(Weights w, BlipVisionConfig config, double postLayerNormEps) {
    List<BlipVisionEncoderLayer> layers = new ArrayList<>();
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      layers.add(BlipVisionEncoderLayer.load(w.sub("encoder").sub("layers").sub(i), config));
    }
    return new BlipVisionModel(
        BlipVisionEmbeddings.load(w.sub("embeddings"), config),
        layers,
        LayerNorm.load(w.sub("post_layernorm"), config.hiddenSize(), postLayerNormEps));
  }

  /** Patch, class and position embeddings, before the first block. */
  public NDArray embed(NDArray pixelValues) {
    return embeddings.forward(pixelValues);
  }

  /** Runs the blocks; the result is the last block's output before the final LayerNorm. */
  public NDArray encode(NDArray embedded) {
    NDArray x = embedded;
    for (BlipVisionEncoderLayer layer : layers) {
      NDArray input = x;
      x = LayerScope.apply(input, layer::forward);
      if (input != embedded) {
        input.close();
      }
    }
    return x;
  }

  /** {@code pixelValues [B, 3, H, W]} to image states {@code [B, 1 + patches, C]} (after the final LayerNorm). */
  public NDArray forward(NDArray pixelValues) {
    return LayerScope.apply(pixelValues, px -> postLayerNorm.forward(encode(embed(px))));
  }
}

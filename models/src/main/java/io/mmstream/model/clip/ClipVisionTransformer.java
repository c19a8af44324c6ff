package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP's image tower (HF {@code vision_model}): patch convolution, class token and position
 * embeddings, {@code pre_layrnorm}, the encoder, and {@code post_layernorm} of the class token.
 */
public final class ClipVisionTransformer {

  /**
   * What the tower computed for a batch: {@code embeddings} before {@code pre_layrnorm}, the hidden
   * states (index 0 after {@code pre_layrnorm}, index i the output of layer i; empty unless asked
   * for) and the pooled class token before projection.
   */
  public record Output(NDArray embeddings, List<NDArray> hiddenStates, NDArray pooled) {}

  private final ClipVisionConfig config;
  private final NDArray patchWeight;
  /** The position embeddings with the class embedding already added to row 0 (exact in float32). */
  private final NDArray positionsWithClass;
  private final LayerNorm preLayerNorm;
  private final ClipEncoder encoder;
  private final LayerNorm postLayerNorm;
  private final Shape patchStride;

  private ClipVisionTransformer(
      ClipVisionConfig config,
      NDArray patchWeight,
      NDArray positionsWithClass,
      LayerNorm preLayerNorm,
      ClipEncoder encoder,
      LayerNorm postLayerNorm) {
    this.config = config;
    this.patchWeight = patchWeight;
    this.positionsWithClass = positionsWithClass;
    this.preLayerNorm = preLayerNorm;
    this.encoder = encoder;
    this.postLayerNorm = postLayerNorm;
    this.patchStride = new Shape(config.patchSize(), config.patchSize());
  }

  /** Loads the tower from {@code w} = the {@code vision_model} view. */
  public static ClipVisionTransformer load(Weights w, ClipVisionConfig c) {
    int d = c.hiddenSize();
    int positions = c.numPositions();
    Weights embeddings = w.sub("embeddings");
    NDArray patchWeight =
        embeddings.sub("patch_embedding").get("weight", d, c.numChannels(), c.patchSize(), c.patchSize());
    NDArray classEmbedding = embeddings.get("class_embedding", d);
    NDArray positionEmbedding = embeddings.sub("position_embedding").get("weight", positions, d);
    embeddings.find("position_ids", 1, positions).ifPresent(NDArray::close);
    // openai adds the class embedding to a zero row, then the position embedding: (cls + 0) + pos0
    // equals cls + pos0 exactly, so the sum is precomputed once.
    NDArray zeroPatchRows = positionEmbedding.getManager().zeros(new Shape(positions - 1, d), positionEmbedding.getDataType());
    NDArray classRows = NDArrays.concat(new NDList(classEmbedding.reshape(1, d), zeroPatchRows), 0);
    NDArray positionsWithClass = positionEmbedding.add(classRows);
    for (NDArray consumed : new NDArray[] {classRows, zeroPatchRows, classEmbedding, positionEmbedding}) {
      consumed.close();
    }
    return new ClipVisionTransformer(
        c,
        patchWeight,
        positionsWithClass,
        LayerNorm.load(w.sub("pre_layrnorm"), d, c.layerNormEps()),
        ClipEncoder.load(
            w.sub("encoder"), c.numHiddenLayers(), d, c.intermediateSize(), c.numAttentionHeads(),
            c.hiddenAct(), c.layerNormEps()),
        LayerNorm.load(w.sub("post_layernorm"), d, c.layerNormEps()));
  }

  public ClipVisionConfig config() {
    return config;
  }

  /** The pooled class token [B, D] for {@code pixelValues} [B, C, S, S]. */
  public NDArray forward(NDArray pixelValues) {
    return forward(pixelValues, false).pooled();
  }

  /** The full output; hidden states are kept only when {@code keepHiddenStates}. */
  public Output forward(NDArray pixelValues, boolean keepHiddenStates) {
    Shape shape = pixelValues.getShape();
    if (shape.dimension() != 4
        || shape.get(1) != config.numChannels()
        || shape.get(2) != config.imageSize()
        || shape.get(3) != config.imageSize()) {
      throw new IllegalArgumentException(
          "pixel_values must be [B, " + config.numChannels() + ", " + config.imageSize() + ", "
              + config.imageSize() + "], got " + shape);
    }
    long batch = shape.get(0);
    long d = config.hiddenSize();
    NDArray patches =
        Conv2d.conv2d(pixelValues, patchWeight, null, patchStride)
            .singletonOrThrow()
            .reshape(batch, d, -1)
            .transpose(0, 2, 1);
    NDArray classSlot = patches.getManager().zeros(new Shape(batch, 1, d), patches.getDataType());
    NDArray embeddings = NDArrays.concat(new NDList(classSlot, patches), 1).addi(positionsWithClass);
    NDArray h = preLayerNorm.forward(embeddings);
    List<NDArray> hiddenStates = null;
    if (keepHiddenStates) {
      hiddenStates = new ArrayList<>();
      hiddenStates.add(h);
    }
    NDArray last = encoder.forward(h, null, hiddenStates);
    NDArray pooled = postLayerNorm.forward(last.get(":, 0, :"));
    return new Output(embeddings, hiddenStates == null ? List.of() : hiddenStates, pooled);
  }
}

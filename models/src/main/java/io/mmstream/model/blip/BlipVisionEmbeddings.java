package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import io.mmstream.model.tensor.Weights;

/** Patch embedding (a stride-P convolution), class token first, learned absolute positions. */
public final class BlipVisionEmbeddings {
  private final NDArray classEmbedding;
  private final NDArray patchWeight;
  private final NDArray patchBias;
  private final NDArray positionEmbedding;
  private final int patchSize;

  /** From tensors of any checkpoint layout: class {@code [1, 1, C]}, conv {@code [C, 3, P, P]}, positions {@code [1, S, C]}. */
  public BlipVisionEmbeddings(
      NDArray classEmbedding, NDArray patchWeight, NDArray patchBias, NDArray positionEmbedding, int patchSize) {
    this.classEmbedding = classEmbedding;
    this.patchWeight = patchWeight;
    this.patchBias = patchBias;
    this.positionEmbedding = positionEmbedding;
    this.patchSize = patchSize;
  }

  /** Loads {@code class_embedding}, {@code patch_embedding.*} and {@code position_embedding} under {@code w}. */
  public static BlipVisionEmbeddings load(Weights w, BlipVisionConfig config) {
    long c = config.hiddenSize();
    long p = config.patchSize();
    return new BlipVisionEmbeddings(
        w.get("class_embedding", 1, 1, c),
        w.sub("patch_embedding").get("weight", c, config.numChannels(), p, p),
        w.sub("patch_embedding").get("bias", c),
        w.get("position_embedding", 1, config.sequenceLength(), c),
        config.patchSize());
  }

  /** {@code pixelValues [B, 3, H, W]} to tokens {@code [B, 1 + (H/P)(W/P), C]}, patches row-major. */
  public NDArray forward(NDArray pixelValues) {
    long batch = pixelValues.getShape().get(0);
    NDArray patches =
        Conv2d.conv2d(pixelValues, patchWeight, patchBias, new Shape(patchSize, patchSize)).singletonOrThrow();
    long channels = patches.getShape().get(1);
    patches = patches.reshape(batch, channels, -1).transpose(0, 2, 1);
    // Taken through the call's manager so the per-call copy is freed with the call, not the weights.
    NDArray classTokens = classEmbedding.get(pixelValues.getManager(), new NDIndex("...")).repeat(0, batch);
    return NDArrays.concat(new NDList(classTokens, patches), 1).add(positionEmbedding);
  }
}

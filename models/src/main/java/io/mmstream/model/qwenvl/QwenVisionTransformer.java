package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * visual.py's {@code VisionTransformer} ({@code transformer.visual}): patch convolution without bias, the 16 x 16
 * positional table resized to the patch grid, {@code ln_pre}, the blocks (no CLS token, no final norm), the resampler,
 * {@code ln_post}, and {@code proj} applied as {@code x @ proj} (not transposed like a Linear weight).
 */
public final class QwenVisionTransformer {
  private final QwenVisualConfig config;
  private final NDArray patchWeight;
  private final NDArray positionTable;
  private final LayerNorm preNorm;
  private final List<QwenVisualBlock> blocks;
  private final QwenResampler resampler;
  private final LayerNorm postNorm;
  private final NDArray projection;

  private QwenVisionTransformer(QwenVisualConfig config, NDArray patchWeight, NDArray positionTable, LayerNorm preNorm,
      List<QwenVisualBlock> blocks, QwenResampler resampler, LayerNorm postNorm, NDArray projection) {
    this.config = config;
    this.patchWeight = patchWeight;
    this.positionTable = positionTable;
    this.preNorm = preNorm;
    this.blocks = blocks;
    this.resampler = resampler;
    this.postNorm = postNorm;
    this.projection = projection;
  }

  /** Loads everything under {@code w} (the checkpoint's {@code transformer.visual}). */
  public static QwenVisionTransformer load(Weights w, QwenVisualConfig c) {
    long width = c.width();
    List<QwenVisualBlock> blocks = new ArrayList<>();
    for (int i = 0; i < c.layers(); i++) {
      blocks.add(QwenVisualBlock.load(w.sub("transformer").sub("resblocks").sub(i), c));
    }
    return new QwenVisionTransformer(
        c,
        w.sub("conv1").get("weight", width, 3, c.patchSize(), c.patchSize()),
        w.get("positional_embedding", QwenVisualConfig.POSITION_TABLE_ROWS, width),
        LayerNorm.load(w.sub("ln_pre"), width, QwenVisualConfig.LAYER_NORM_EPS),
        blocks,
        QwenResampler.load(w.sub("attn_pool"), c),
        LayerNorm.load(w.sub("ln_post"), c.outputDim(), QwenVisualConfig.LAYER_NORM_EPS),
        w.get("proj", c.outputDim(), c.outputDim()));
  }

  public QwenVisualConfig config() {
    return config;
  }

  /** The ViT's positional table at the patch grid [grid^2, width]. */
  public NDArray positionEmbedding() {
    return PositionTables.resize(positionTable, (long) config.grid() * config.grid());
  }

  /** The resampler's key positions at the patch grid [grid^2, output_dim]. */
  public NDArray resamplerKeyPositions() {
    return resampler.keyPositions((long) config.grid() * config.grid());
  }

  /** Patch tokens plus positions [B, grid^2, width], before {@code ln_pre}; patches row-major. */
  public NDArray embed(NDArray pixelValues) {
    long batch = pixelValues.getShape().get(0);
    NDArray patches = Conv2d.conv2d(pixelValues, patchWeight, null, new Shape(config.patchSize(), config.patchSize()))
        .singletonOrThrow();
    patches = patches.reshape(batch, config.width(), -1).transpose(0, 2, 1);
    return patches.add(positionEmbedding());
  }

  /** {@code ln_pre} and the blocks: [B, grid^2, width]. */
  public NDArray encode(NDArray embeddings) {
    NDArray h = LayerScope.apply(embeddings, preNorm::forward);
    for (QwenVisualBlock block : blocks) {
      NDArray input = h;
      h = LayerScope.apply(input, block::forward);
      input.close();
    }
    return h;
  }

  /** The resampler's output [B, queries, output_dim], before {@code ln_post}. */
  public NDArray resample(NDArray encoded) {
    return LayerScope.apply(encoded, resampler::forward);
  }

  /** The rows that replace an image span: {@code ln_post(resampler(...)) @ proj}, [B, queries, output_dim]. */
  public NDArray forward(NDArray pixelValues) {
    NDArray resampled = resample(encode(embed(pixelValues)));
    return LayerScope.apply(resampled, x -> postNorm.forward(x).matMul(projection));
  }
}

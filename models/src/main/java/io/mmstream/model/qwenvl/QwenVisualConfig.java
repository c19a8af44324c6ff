package io.mmstream.model.qwenvl;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * config.json's {@code visual} object ({@code VisionTransformer(**config.visual)} in the original).
 *
 * @param imageStartId the {@code <img>} id; {@code </img>} is the next id, {@code <imgpad>} the one after
 * @param queries the resampler's query count ({@code n_queries}, not in config.json: the original's default 256,
 *     which the tokenizer's 256-id image span must equal)
 */
public record QwenVisualConfig(
    int imageSize, int patchSize, int width, int layers, int heads, double mlpRatio, int outputDim, int imageStartId,
    int queries) {

  /** The original's {@code n_queries} default. */
  public static final int DEFAULT_QUERIES = 256;
  /** {@code partial(nn.LayerNorm, eps=1e-6)}: hard-coded in visual.py, not read from config. */
  public static final double LAYER_NORM_EPS = 1e-6;
  /** The resampler's heads are {@code output_dim // 128} (hard-coded in visual.py). */
  static final int RESAMPLER_HEAD_DIM = 128;
  /** Rows of the ViT's own positional table: a 16 x 16 grid, resized to the patch grid. */
  static final int POSITION_TABLE_ROWS = 256;

  public QwenVisualConfig {
    if (imageSize % patchSize != 0) {
      throw new IllegalArgumentException("image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
    }
    if (width % heads != 0) {
      throw new IllegalArgumentException("visual width " + width + " is not a multiple of heads " + heads);
    }
    if (outputDim % RESAMPLER_HEAD_DIM != 0) {
      throw new IllegalArgumentException("visual output_dim " + outputDim + " is not a multiple of 128");
    }
  }

  public static QwenVisualConfig fromJson(JsonNode visual) {
    if (visual.isMissingNode() || visual.isNull()) {
      throw new IllegalArgumentException("config.json has no 'visual' object: not a Qwen-VL checkpoint");
    }
    return new QwenVisualConfig(
        visual.path("image_size").asInt(448),
        visual.path("patch_size").asInt(14),
        visual.path("width").asInt(1664),
        visual.path("layers").asInt(48),
        visual.path("heads").asInt(16),
        visual.path("mlp_ratio").asDouble(4.9231),
        visual.path("output_dim").asInt(4096),
        visual.path("image_start_id").asInt(151857),
        visual.path("n_queries").asInt(DEFAULT_QUERIES));
  }

  /** Qwen-VL-Chat's ViT-bigG at 448 px and its 256-query resampler. */
  public static QwenVisualConfig qwenVlChat() {
    return new QwenVisualConfig(448, 14, 1664, 48, 16, 4.9231, 4096, 151857, DEFAULT_QUERIES);
  }

  public QwenVisualConfig withLayers(int count) {
    return new QwenVisualConfig(imageSize, patchSize, width, count, heads, mlpRatio, outputDim, imageStartId, queries);
  }

  public int grid() {
    return imageSize / patchSize;
  }

  /** {@code int(width * mlp_ratio)}. */
  public int mlpWidth() {
    return (int) (width * mlpRatio);
  }

  public int resamplerHeads() {
    return outputDim / RESAMPLER_HEAD_DIM;
  }
}

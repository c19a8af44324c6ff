package io.mmstream.model.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.clip.ClipImagePreprocessor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * LLaVA-1.5's {@code process_images} with {@code image_aspect_ratio "pad"}: {@code expand2square} onto a canvas
 * of the mean colour, then CLIP's resize of the short side (Pillow bicubic), centre crop and normalisation.
 *
 * <p>llava-hf's preprocessor_config.json describes only the CLIP part; the padding is the original's and is
 * applied whatever that file says (without it a non-square image is cropped at the sides).
 */
public final class LlavaImageProcessor {
  /** CLIP's image_mean, the default when preprocessor_config.json has none. */
  private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};

  private final ClipImagePreprocessor clip;
  private final byte[] padColour;

  public LlavaImageProcessor(int size, double[] imageMean) {
    this.clip = new ClipImagePreprocessor(size);
    this.padColour = new byte[3];
    for (int c = 0; c < 3; c++) {
      // expand2square's tuple(int(x * 255) for x in image_mean): truncated, (122, 116, 104) for CLIP.
      padColour[c] = (byte) (int) (imageMean[c] * 255);
    }
  }

  /**
   * Reads {@code preprocessor_config.json} (crop size, mean) when the directory has one; otherwise the tower's
   * own image size and CLIP's mean.
   */
  public static LlavaImageProcessor load(Path modelDirectory, int towerImageSize) throws IOException {
    Path file = modelDirectory.resolve("preprocessor_config.json");
    if (!Files.isRegularFile(file)) {
      return new LlavaImageProcessor(towerImageSize, CLIP_MEAN);
    }
    JsonNode c = new ObjectMapper().readTree(file.toFile());
    int crop = c.path("crop_size").path("height").asInt(towerImageSize);
    int shortest = c.path("size").path("shortest_edge").asInt(crop);
    if (crop != towerImageSize || shortest != crop) {
      throw new IOException(file + ": size " + shortest + " / crop " + crop + " differ from the tower's image size "
          + towerImageSize);
    }
    double[] mean = CLIP_MEAN;
    if (c.path("image_mean").isArray()) {
      mean = new double[3];
      for (int i = 0; i < 3; i++) {
        mean[i] = c.path("image_mean").get(i).asDouble();
      }
    }
    if (!Arrays.equals(mean, CLIP_MEAN)) {
      throw new IOException(file + ": image_mean " + Arrays.toString(mean) + " is not CLIP's, which the vision "
          + "tower normalises with");
    }
    return new LlavaImageProcessor(crop, mean);
  }

  public int size() {
    return clip.size();
  }

  /** {@code expand2square}: the RGB image centred on a square canvas of the mean colour. */
  public PixelImage expandToSquare(PixelImage image) {
    PixelImage rgb = image.toRgb();
    int w = rgb.width();
    int h = rgb.height();
    if (w == h) {
      return rgb;
    }
    int side = Math.max(w, h);
    byte[] canvas = new byte[side * side * 3];
    for (int i = 0; i < side * side; i++) {
      System.arraycopy(padColour, 0, canvas, 3 * i, 3);
    }
    int left = (side - w) / 2;
    int top = (side - h) / 2;
    for (int y = 0; y < h; y++) {
      System.arraycopy(rgb.pixels(), y * w * 3, canvas, ((top + y) * side + left) * 3, w * 3);
    }
    return new PixelImage(side, side, 3, canvas);
  }

  /** {@code pixel_values [B, 3, size, size]}. */
  public NDArray pixelValues(List<PixelImage> images, NDManager manager) {
    return clip.pixelValues(images.stream().map(this::expandToSquare).toList(), manager);
  }
}

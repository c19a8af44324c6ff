package io.mmstream.model.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PilResampler;
import io.mmstream.image.PixelImage;
import io.mmstream.model.clip.ClipImagePreprocessor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * LLaVA-1.5's {@code process_images} with {@code image_aspect_ratio "pad"}: {@code expand2square} onto a canvas
 * of the mean colour, then CLIP's resize of the short side (Pillow bicubic), centre crop and normalisation.
 *
 * <p>llava-hf's preprocessor_config.json describes only the CLIP part (sizes, mean, std); the padding is the
 * original's and is applied whatever that file says (without it a non-square image is cropped at the sides).
 */
public final class LlavaImageProcessor {
  /** CLIP's image_mean and image_std as preprocessor configs write them: the defaults. */
  private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
  private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

  private final ClipImagePreprocessor clip;
  private final int resizeTo;
  private final byte[] padColour;

  /**
   * @param resizeTo the square's side after resizing ({@code size.shortest_edge})
   * @param cropTo the side the tower takes ({@code crop_size}), cut from the centre
   */
  public LlavaImageProcessor(int resizeTo, int cropTo, double[] imageMean, double[] imageStd) {
    if (cropTo > resizeTo) {
      throw new IllegalArgumentException("crop " + cropTo + " larger than the resized image " + resizeTo);
    }
    // Normalisation runs in float32 (the processor casts mean and std to the image's float32).
    this.clip = new ClipImagePreprocessor(cropTo, toFloats(imageMean), toFloats(imageStd));
    this.resizeTo = resizeTo;
    this.padColour = new byte[3];
    for (int c = 0; c < 3; c++) {
      // expand2square's tuple(int(x * 255) for x in image_mean): truncated, (122, 116, 104) for CLIP.
      padColour[c] = (byte) (int) (imageMean[c] * 255);
    }
  }

  /**
   * Reads {@code preprocessor_config.json} (size, crop size, mean, std) when the directory has one; otherwise the
   * tower's own image size and CLIP's constants.
   */
  public static LlavaImageProcessor load(Path modelDirectory, int towerImageSize) throws IOException {
    Path file = modelDirectory.resolve("preprocessor_config.json");
    if (!Files.isRegularFile(file)) {
      return new LlavaImageProcessor(towerImageSize, towerImageSize, CLIP_MEAN, CLIP_STD);
    }
    JsonNode c = new ObjectMapper().readTree(file.toFile());
    int crop = c.path("crop_size").path("height").asInt(towerImageSize);
    int shortest = c.path("size").path("shortest_edge").asInt(crop);
    if (crop != towerImageSize) {
      throw new IOException(file + ": crop size " + crop + " differs from the tower's image size " + towerImageSize);
    }
    return new LlavaImageProcessor(shortest, crop, channels(c.path("image_mean"), CLIP_MEAN),
        channels(c.path("image_std"), CLIP_STD));
  }

  private static double[] channels(JsonNode node, double[] fallback) {
    if (!node.isArray()) {
      return fallback;
    }
    double[] out = new double[3];
    for (int i = 0; i < 3; i++) {
      out[i] = node.get(i).asDouble();
    }
    return out;
  }

  private static float[] toFloats(double[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (float) values[i];
    }
    return out;
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

  /**
   * The padded square resized to {@code size.shortest_edge} (Pillow bicubic) and its centre {@code crop_size}
   * cut at {@code (resized - crop) // 2} as CLIPImageProcessor cuts it.
   */
  public PixelImage squareAndResize(PixelImage image) {
    PixelImage square = expandToSquare(image);
    PixelImage resized = square.width() == resizeTo ? square
        : PilResampler.resizeBicubic(square, resizeTo, resizeTo);
    int offset = (resizeTo - size()) / 2;
    return offset == 0 && resizeTo == size() ? resized : resized.crop(offset, offset, size(), size());
  }

  /** {@code pixel_values [B, 3, crop, crop]}. */
  public NDArray pixelValues(List<PixelImage> images, NDManager manager) {
    return clip.pixelValues(images.stream().map(this::squareAndResize).toList(), manager);
  }
}

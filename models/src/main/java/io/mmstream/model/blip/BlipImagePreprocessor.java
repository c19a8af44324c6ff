package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PilResampler;
import io.mmstream.image.PixelImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;

/**
 * BLIP's eval transform: RGB, PIL bicubic resize to a fixed size (aspect ratio not kept), scale to
 * [0, 1], normalise per channel; float32 CHW. Sizes and statistics come from
 * {@code preprocessor_config.json} when present, else the vision {@code image_size} and CLIP's.
 */
public final class BlipImagePreprocessor {
  public static final String CONFIG_FILE = "preprocessor_config.json";
  private static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
  private static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};
  private static final double DEFAULT_RESCALE = 1.0 / 255;

  private final int width;
  private final int height;
  private final float[] mean;
  private final float[] std;
  private final float rescaleDivisor;

  public BlipImagePreprocessor(int width, int height, float[] mean, float[] std, double rescaleFactor) {
    if (mean.length != 3 || std.length != 3) {
      throw new IllegalArgumentException("image_mean and image_std need 3 values");
    }
    this.width = width;
    this.height = height;
    this.mean = mean.clone();
    this.std = std.clone();
    // ToTensor divides by 255 in float32; 1 / rescale_factor is that divisor.
    this.rescaleDivisor = (float) (1.0 / rescaleFactor);
  }

  /** The model's own eval transform: {@code image_size} square, CLIP statistics. */
  public static BlipImagePreprocessor forVision(BlipVisionConfig vision) {
    return new BlipImagePreprocessor(vision.imageSize(), vision.imageSize(), CLIP_MEAN, CLIP_STD, DEFAULT_RESCALE);
  }

  public static BlipImagePreprocessor load(Path modelDirectory, BlipVisionConfig vision) throws IOException {
    Path file = modelDirectory.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(file)) {
      return forVision(vision);
    }
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    int w = vision.imageSize();
    int h = vision.imageSize();
    JsonNode size = root.path("size");
    if (size.isInt()) {
      w = h = size.asInt();
    } else if (size.has("height") && size.has("width")) {
      w = size.get("width").asInt();
      h = size.get("height").asInt();
    }
    return new BlipImagePreprocessor(
        w, h, floats(root.path("image_mean"), CLIP_MEAN), floats(root.path("image_std"), CLIP_STD),
        root.path("rescale_factor").asDouble(DEFAULT_RESCALE));
  }

  private static float[] floats(JsonNode node, float[] fallback) {
    if (!node.isArray()) {
      return fallback;
    }
    float[] out = new float[node.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) node.get(i).asDouble();
    }
    return out;
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }

  /** One image as float32 CHW values. */
  public float[] toChw(PixelImage image) {
    PixelImage resized = PilResampler.resizeBicubic(image.toRgb(), width, height);
    int plane = width * height;
    float[] out = new float[3 * plane];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        for (int c = 0; c < 3; c++) {
          float value = resized.sample(x, y, c) / rescaleDivisor;
          out[c * plane + y * width + x] = (value - mean[c]) / std[c];
        }
      }
    }
    return out;
  }

  /** {@code pixel_values [B, 3, H, W]} in {@code manager}. */
  public NDArray pixelValues(List<PixelImage> images, NDManager manager) {
    return pixelValues(images.stream().map(this::toChw).toList(), manager);
  }

  /** {@code pixel_values [B, 3, H, W]} in {@code manager} from images already in {@link #toChw} form. */
  public NDArray pixelValues(Collection<float[]> chwImages, NDManager manager) {
    int perImage = 3 * width * height;
    float[] all = new float[chwImages.size() * perImage];
    int i = 0;
    for (float[] chw : chwImages) {
      if (chw.length != perImage) {
        throw new IllegalArgumentException("expected " + perImage + " values per image, got " + chw.length);
      }
      System.arraycopy(chw, 0, all, i++ * perImage, perImage);
    }
    return manager.create(all, new Shape(chwImages.size(), 3, height, width));
  }
}

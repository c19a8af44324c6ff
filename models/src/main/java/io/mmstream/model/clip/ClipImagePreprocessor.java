package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.mmstream.image.PilResampler;
import io.mmstream.image.PixelImage;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * openai's {@code _transform(n)}: Resize(n, BICUBIC) of the short side, CenterCrop(n),
 * convert("RGB"), ToTensor, Normalize, reproduced value for value.
 *
 * <p>The resize is Pillow's fixed-point bicubic ({@link PilResampler}); the long side becomes
 * {@code int(n * long / short)} as torchvision truncates it; crop offsets round half to even as
 * Python's {@code round} does; grey images are resized as one channel and replicated afterwards.
 */
public final class ClipImagePreprocessor {
  /** openai's normalisation constants (float32, as torch holds them). */
  public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
  public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

  private final int size;
  private final float[] mean;
  private final float[] std;

  public ClipImagePreprocessor(int size) {
    this(size, CLIP_MEAN, CLIP_STD);
  }

  /** With other per-channel normalisation constants (a preprocessor_config.json's image_mean / image_std). */
  public ClipImagePreprocessor(int size, float[] mean, float[] std) {
    if (size <= 0) {
      throw new IllegalArgumentException("size must be positive");
    }
    if (mean.length != 3 || std.length != 3) {
      throw new IllegalArgumentException("mean and std need one value per RGB channel");
    }
    this.size = size;
    this.mean = mean.clone();
    this.std = std.clone();
  }

  public int size() {
    return size;
  }

  /** Resize and centre crop: the {@code size x size} RGB pixels the model sees. */
  public PixelImage resizeAndCrop(PixelImage image) {
    int w = image.width();
    int h = image.height();
    int shortSide = Math.min(w, h);
    int longSide = Math.max(w, h);
    int resizedLong = (int) ((double) size * longSide / shortSide);
    int outW = w <= h ? size : resizedLong;
    int outH = w <= h ? resizedLong : size;
    PixelImage resized = outW == w && outH == h ? image : PilResampler.resizeBicubic(image, outW, outH);
    int top = (int) Math.rint((outH - size) / 2.0);
    int left = (int) Math.rint((outW - size) / 2.0);
    return resized.crop(left, top, size, size).toRgb();
  }

  /** {@code pixel_values} of one image, channel-major [3, size, size]. */
  public float[] pixelValues(PixelImage image) {
    PixelImage rgb = resizeAndCrop(image);
    int plane = size * size;
    float[] values = new float[3 * plane];
    byte[] pixels = rgb.pixels();
    for (int i = 0; i < plane; i++) {
      for (int c = 0; c < 3; c++) {
        float unit = (float) (pixels[3 * i + c] & 0xFF) / 255f;
        values[c * plane + i] = (unit - mean[c]) / std[c];
      }
    }
    return values;
  }

  /** {@code pixel_values} [B, 3, size, size] for a batch of images. */
  public NDArray pixelValues(List<PixelImage> images, NDManager manager) {
    int perImage = 3 * size * size;
    FloatBuffer batch = FloatBuffer.allocate(images.size() * perImage);
    for (PixelImage image : images) {
      batch.put(pixelValues(image));
    }
    return manager.create(batch.flip(), new Shape(images.size(), 3, size, size));
  }
}

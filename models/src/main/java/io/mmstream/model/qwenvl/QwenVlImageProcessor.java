package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.mmstream.image.PilResampler;
import io.mmstream.image.PixelImage;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * visual.py's {@code image_transform}: {@code convert("RGB")}, {@code Resize((n, n), BICUBIC)} straight to the square
 * (aspect ratio not kept; Pillow's resize on a PIL image), {@code ToTensor}, {@code Normalize} with CLIP's constants.
 */
public final class QwenVlImageProcessor {
  private static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
  private static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  private final int size;

  public QwenVlImageProcessor(int size) {
    this.size = size;
  }

  /** The {@code size x size} RGB pixels the model sees. */
  public PixelImage resize(PixelImage image) {
    PixelImage rgb = image.toRgb();
    return rgb.width() == size && rgb.height() == size ? rgb : PilResampler.resizeBicubic(rgb, size, size);
  }

  /** {@code pixel_values} [B, 3, size, size]. */
  public NDArray pixelValues(List<PixelImage> images, NDManager manager) {
    int plane = size * size;
    FloatBuffer batch = FloatBuffer.allocate(images.size() * 3 * plane);
    for (PixelImage image : images) {
      byte[] pixels = resize(image).pixels();
      float[] values = new float[3 * plane];
      for (int i = 0; i < plane; i++) {
        for (int c = 0; c < 3; c++) {
          float unit = (float) (pixels[3 * i + c] & 0xFF) / 255f;
          values[c * plane + i] = (unit - MEAN[c]) / STD[c];
        }
      }
      batch.put(values);
    }
    return manager.create(batch.flip(), new Shape(images.size(), 3, size, size));
  }
}

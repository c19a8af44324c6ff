package io.mmstream.model.instructblip;

import io.mmstream.image.PixelImage;
import java.util.Objects;

/** One instruction about one image. Requests sharing an image object encode it once. */
public record InstructRequest(PixelImage image, String instruction) {
  public InstructRequest {
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(instruction, "instruction");
  }
}

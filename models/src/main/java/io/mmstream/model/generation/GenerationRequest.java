package io.mmstream.model.generation;

import io.mmstream.image.PixelImage;
import java.util.List;
import java.util.Objects;

/**
 * One prompt about zero or more images, with the conversation so far.
 *
 * @param images the images, in order (most models take exactly one)
 * @param prompt the user's text; empty for plain captioning
 * @param history earlier turns, oldest first; empty for a first turn
 */
public record GenerationRequest(List<PixelImage> images, String prompt, List<ChatTurn> history) {
  public GenerationRequest {
    images = List.copyOf(Objects.requireNonNull(images, "images"));
    Objects.requireNonNull(prompt, "prompt");
    history = List.copyOf(Objects.requireNonNull(history, "history"));
  }

  public static GenerationRequest of(PixelImage image, String prompt) {
    return new GenerationRequest(List.of(image), prompt, List.of());
  }
}

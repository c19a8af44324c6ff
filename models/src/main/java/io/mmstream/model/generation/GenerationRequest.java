package io.mmstream.model.generation;

import io.mmstream.image.PixelImage;
import java.util.List;
import java.util.Objects;

/**
 * One prompt about zero or more images, with the conversation so far.
 *
 * @param images the images, in order (most models take exactly one)
 * @param imageNames where each image came from as the user named it (a file path), for models whose prompts name
 *     their images (Qwen-VL writes {@code <img>PATH</img>}); empty when unknown, else one per image
 * @param prompt the user's text; empty for plain captioning
 * @param history earlier turns, oldest first; empty for a first turn
 * @param openNamedFiles whether the model may open image files that the prompt names and the request does not supply
 *     (Qwen-VL's {@code <img>PATH</img>}, as its original does): true for a person's own commands, never for prompts
 *     that arrive from users over Kafka, which must not read the worker's files
 */
public record GenerationRequest(List<PixelImage> images, List<String> imageNames, String prompt,
    List<ChatTurn> history, boolean openNamedFiles) {
  public GenerationRequest {
    images = List.copyOf(Objects.requireNonNull(images, "images"));
    imageNames = List.copyOf(Objects.requireNonNull(imageNames, "imageNames"));
    if (!imageNames.isEmpty() && imageNames.size() != images.size()) {
      throw new IllegalArgumentException(imageNames.size() + " image names for " + images.size() + " images");
    }
    Objects.requireNonNull(prompt, "prompt");
    history = List.copyOf(Objects.requireNonNull(history, "history"));
  }

  /** A request whose images have no names; files named in its prompt are not opened. */
  public GenerationRequest(List<PixelImage> images, String prompt, List<ChatTurn> history) {
    this(images, List.of(), prompt, history, false);
  }

  public static GenerationRequest of(PixelImage image, String prompt) {
    return new GenerationRequest(List.of(image), prompt, List.of());
  }
}

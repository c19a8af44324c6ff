package io.mmstream.worker;

import java.nio.file.Path;
import java.util.Objects;

/** Where a model's weights come from: a checkpoint directory, or a named preset with random weights. */
public record ModelSource(Path directory, String preset) {

  public ModelSource {
    if ((directory == null) == (preset == null)) {
      throw new IllegalArgumentException("give exactly one of a model directory or a preset");
    }
  }

  public static ModelSource directory(Path directory) {
    return new ModelSource(Objects.requireNonNull(directory), null);
  }

  public static ModelSource preset(String preset) {
    return new ModelSource(null, Objects.requireNonNull(preset));
  }

  @Override
  public String toString() {
    return directory != null ? directory.toString() : "preset " + preset + " (random weights)";
  }
}

package io.mmstream.worker;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a model comes from: a checkpoint directory (weights, config and tokenizer files), or a named
 * preset with random weights plus a directory holding only its tokenizer files.
 */
public record ModelSource(Path directory, String preset, Path tokenizerDirectory) {

  public ModelSource {
    if ((directory == null) == (preset == null)) {
      throw new IllegalArgumentException("give exactly one of a model directory or a preset");
    }
  }

  public static ModelSource directory(Path directory) {
    return new ModelSource(Objects.requireNonNull(directory), null, null);
  }

  /** @param tokenizerDirectory null when the preset is never asked to tokenize */
  public static ModelSource preset(String preset, Path tokenizerDirectory) {
    return new ModelSource(null, Objects.requireNonNull(preset), tokenizerDirectory);
  }

  /** The directory to read tokenizer files from: the model's own, or the preset's tokenizer directory. */
  public Path tokenizerFiles() {
    if (directory != null) {
      return directory;
    }
    if (tokenizerDirectory == null) {
      throw new IllegalStateException("preset " + preset + " has random weights but no tokenizer: set "
          + WorkerSettings.TOKENIZER_DIR.key() + " (e.g. fixtures/clip/tokenizer)");
    }
    return tokenizerDirectory;
  }

  @Override
  public String toString() {
    return directory != null ? directory.toString() : "preset " + preset + " (random weights)";
  }
}

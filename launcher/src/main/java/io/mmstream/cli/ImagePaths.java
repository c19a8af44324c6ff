package io.mmstream.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The files named by {@code --image} values. A value may hold several lines (scripts that build
 * arguments with command substitution can produce "folder\nfolder/file.png"); then each line that
 * names a regular file is one image and other lines are skipped. A one-line value is taken as given,
 * so a missing file fails with its own name.
 */
final class ImagePaths {
  private ImagePaths() {}

  static List<Path> expand(List<String> values) {
    List<Path> files = new ArrayList<>();
    for (String value : values) {
      String[] lines = value.split("\\R");
      if (lines.length == 1) {
        files.add(Path.of(value));
        continue;
      }
      int before = files.size();
      for (String line : lines) {
        Path p = Path.of(line.strip());
        if (!line.isBlank() && Files.isRegularFile(p)) {
          files.add(p);
        }
      }
      if (files.size() == before) {
        throw new IllegalArgumentException("--image value names no file: " + value.replace("\n", "\\n"));
      }
    }
    return files;
  }
}

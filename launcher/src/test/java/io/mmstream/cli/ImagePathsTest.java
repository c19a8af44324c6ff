package io.mmstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagePathsTest {

  @Test
  void multiLineValueKeepsTheLinesThatAreFiles(@TempDir Path dir) throws Exception {
    Path a = Files.writeString(dir.resolve("a.png"), "x");
    List<Path> files = ImagePaths.expand(List.of(dir + "\n" + a, dir.resolve("missing.png").toString()));
    assertThat(files).containsExactly(a, dir.resolve("missing.png"));
  }

  @Test
  void multiLineValueWithoutFilesIsAnError(@TempDir Path dir) {
    assertThatThrownBy(() -> ImagePaths.expand(List.of(dir + "\n" + dir)))
        .hasMessageContaining("names no file");
  }
}

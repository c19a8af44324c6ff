package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.Setting;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The README documents every setting a worker reads, with its environment variable and default: the
 * shared ones in the "Settings" table, the worker's own in the "Model workers" section.
 */
class WorkerReadmeTest {

  @Test
  void everySettingIsDocumented() throws Exception {
    String readme = Files.readString(Path.of(System.getProperty("mmstream.fixtures")).getParent().resolve("README.md"));
    for (Setting<?> s : WorkerSettings.ALL) {
      String defaultCell = s.defaultText().isEmpty() ? "  " : " `" + s.defaultText().replace("|", "\\|") + "` ";
      assertThat(readme).as("README row for %s", s.key())
          .contains("| `" + s.key() + "` | `" + s.envName() + "` |" + defaultCell + "|");
    }
  }
}

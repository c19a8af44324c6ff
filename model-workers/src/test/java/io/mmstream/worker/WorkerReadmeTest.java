package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's "Model workers" section documents every setting with its environment variable. */
class WorkerReadmeTest {

  @Test
  void everySettingIsDocumented() throws Exception {
    String readme = Files.readString(Path.of(System.getProperty("mmstream.fixtures")).getParent().resolve("README.md"));
    for (String key : WorkerSettings.KEYS.keySet()) {
      assertThat(readme).contains("| `" + key + "` | `" + WorkerSettings.environmentVariable(key) + "` |");
    }
  }
}

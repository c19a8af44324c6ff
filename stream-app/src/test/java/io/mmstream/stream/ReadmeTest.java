package io.mmstream.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.Setting;
import io.mmstream.topic.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's settings and topics tables stay in step with the declarations. */
class ReadmeTest {

  private static String readme() throws Exception {
    return Files.readString(Path.of(System.getProperty("mmstream.fixtures")).getParent().resolve("README.md"));
  }

  @Test
  void everySettingIsListedWithItsEnvironmentNameAndDefault() throws Exception {
    String readme = readme();
    for (Setting<?> s : StreamApp.SETTINGS) {
      String defaultCell = s.defaultText().isEmpty() ? "  " : " `" + s.defaultText().replace("|", "\\|") + "` ";
      assertThat(readme).as("README row for %s", s.key())
          .contains("| `" + s.key() + "` | `" + s.envName() + "` |" + defaultCell + "|");
    }
  }

  @Test
  void everyTopicIsListed() throws Exception {
    String readme = readme();
    for (String topic : Topics.ALL) {
      assertThat(readme).contains("| `" + topic + "` |");
    }
  }
}

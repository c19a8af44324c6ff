package io.mmstream.stream;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.config.SettingsException;
import org.junit.jupiter.api.Test;

class ModerationPolicyTest {

  @Test
  void rejectsPoliciesThatCannotWork() {
    assertThatThrownBy(() -> ModerationPolicy.parse("{\"default\": {\"version\": \"v\", \"categories\": ["
        + "{\"name\": \"x\", \"labels\": [\"a\"], \"review\": 0.9, \"block\": 0.5}]}}"))
        .isInstanceOf(SettingsException.class).hasMessageContaining("review <= block");
    assertThatThrownBy(() -> ModerationPolicy.parse("{\"default\": {\"categories\": []}}"))
        .isInstanceOf(SettingsException.class).hasMessageContaining("no version");
    assertThatThrownBy(() -> ModerationPolicy.parse("{\"default\": {\"version\": \"v\", \"categories\": [],"
        + " \"typo\": 1}}"))
        .isInstanceOf(SettingsException.class);
  }
}

package io.mmstream.cli;

import io.mmstream.config.Settings;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Settings of a local run on the demo configuration (config/demo), shared by the demo and the end-to-end test. */
public final class DemoConfig {
  private DemoConfig() {}

  /**
   * Two partitions per topic, a fresh state directory and application id (so runs never share join
   * state), and the demo's label sets and moderation policy from {@code home}.
   */
  public static Settings localRun(Path home, String runName) throws IOException {
    return Settings.empty()
        .with(TopicSettings.PARTITIONS.key(), 2)
        .with(StreamSettings.STATE_DIR.key(), Files.createTempDirectory("mmstream-" + runName + "-state").toString())
        .with(StreamSettings.APPLICATION_ID.key(), "mmstream-" + runName + "-" + System.nanoTime())
        .with(StreamSettings.LABEL_SETS_PATH.key(), home.resolve("config/demo/label-sets.json").toString())
        .with(StreamSettings.MODERATION_POLICY_PATH.key(), home.resolve("config/demo/moderation-policy.json").toString());
  }
}

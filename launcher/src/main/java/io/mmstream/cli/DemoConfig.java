package io.mmstream.cli;

import io.mmstream.config.Settings;
import io.mmstream.security.AppAccess;
import io.mmstream.security.AppAcls;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicSettings;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.WorkerSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Settings of a local run on the demo configuration (config/demo), shared by the demo and the end-to-end test. */
public final class DemoConfig {
  private DemoConfig() {}

  /** Run name of the demo: its application ids start with mmstream-demo-. */
  static final String DEMO_RUN_NAME = "demo";

  /** {@link #localRun(Settings, Path, String)} over no other settings. */
  public static Settings localRun(Path home, String runName) throws IOException {
    return localRun(Settings.empty(), home, runName);
  }

  /**
   * Two partitions per topic, a fresh state directory and application id (so runs never share join
   * state), and the demo's label sets and moderation policy from {@code home}, over {@code base}
   * (connection and security settings).
   */
  public static Settings localRun(Settings base, Path home, String runName) throws IOException {
    return base
        .with(TopicSettings.PARTITIONS.key(), 2)
        .with(StreamSettings.STATE_DIR.key(), Files.createTempDirectory("mmstream-" + runName + "-state").toString())
        .with(StreamSettings.APPLICATION_ID.key(), applicationIdPrefix(runName) + System.nanoTime())
        .with(StreamSettings.LABEL_SETS_PATH.key(), home.resolve("config/demo/label-sets.json").toString())
        .with(StreamSettings.MODERATION_POLICY_PATH.key(), home.resolve("config/demo/moderation-policy.json").toString());
  }

  /**
   * Settings of the demo against an external cluster: like {@link #localRun(Settings, Path, String)} but with
   * a stable application id, so a restart continues from the committed offsets and the join state in
   * its changelogs (restored into the fresh state directory) instead of replaying the input topic.
   */
  public static Settings externalRun(Settings base, Path home) throws IOException {
    return localRun(base, home, DEMO_RUN_NAME).with(StreamSettings.APPLICATION_ID.key(), STABLE_APPLICATION_ID);
  }

  /** The demo's application id on an external cluster (under the run-name prefix its ACLs grant). */
  public static final String STABLE_APPLICATION_ID = applicationIdPrefix(DEMO_RUN_NAME) + "enrichment";

  /**
   * The ACLs of the demo's one principal on an external cluster: the stream app (granted by the run-name
   * prefix, which covers the stable id and the embedded runs' fresh ones; it creates the topics), one worker per kind it runs with
   * their default ids (and the chat worker), publish, and tail for its printer and its conversation.
   */
  public static AppAccess access() {
    AppAccess all = AppAcls.streamApp(applicationIdPrefix(DEMO_RUN_NAME), true);
    for (ModelKind kind : DemoWorkers.KINDS) {
      all = all.plus(WorkerSettings.defaultAccess(kind), "demo");
    }
    all = all.plus(WorkerSettings.defaultAccess(ModelKind.CHAT), "demo");
    return all.plus(AppAcls.publisher(), "demo").plus(AppAcls.tail(), "demo");
  }

  private static String applicationIdPrefix(String runName) {
    return "mmstream-" + runName + "-";
  }
}

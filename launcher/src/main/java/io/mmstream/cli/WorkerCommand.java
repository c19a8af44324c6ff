package io.mmstream.cli;

import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.config.SettingsException;
import io.mmstream.worker.WorkerMain;
import io.mmstream.worker.WorkerSettings;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bin/mmstream worker --kind clip --model DIR}: a model worker process. Settings come from
 * {@code --config FILE}, then MMSTREAM_* environment variables (and {@code *_FILE} secrets), then these
 * options (see the README's "Model workers" section for every key).
 */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = "Run a model worker: consume a task topic, batch on the device, produce results exactly once.")
public final class WorkerCommand implements Callable<Integer> {

  @Option(names = "--kind", description = "clip | caption | vqa | instruct")
  String kind;

  @Spec CommandSpec spec;

  @Option(names = "--model", description = "model checkpoint directory")
  Path modelDir;

  @Option(names = "--preset", description = "named preset with random weights instead of a checkpoint")
  String preset;

  @Option(names = {"-b", "--bootstrap-servers"}, description = "Kafka brokers (kafka.bootstrap.servers)")
  String bootstrapServers;

  @Option(names = "--config", description = "properties file with worker settings")
  Path config;

  @Option(names = {"-s", "--set"}, description = "any setting, e.g. -s mmstream.worker.batch.max-size=16")
  Map<String, String> settings = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    Map<String, String> overrides = new LinkedHashMap<>(settings);
    putIfSet(overrides, WorkerSettings.KIND.key(), kind);
    putIfSet(overrides, WorkerSettings.MODEL_DIR.key(), modelDir == null ? null : modelDir.toString());
    putIfSet(overrides, WorkerSettings.MODEL_PRESET.key(), preset);
    putIfSet(overrides, KafkaSettings.BOOTSTRAP_SERVERS.key(), bootstrapServers);
    Settings merged = Settings.load(config);
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      merged = merged.with(e.getKey(), e.getValue());
    }
    WorkerSettings workerSettings;
    try {
      workerSettings = WorkerSettings.from(merged);
    } catch (IllegalArgumentException | SettingsException e) {
      // An unknown kind or a bad value is a usage error, one line, no stack trace
      spec.commandLine().getErr().println("mmstream worker: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return PublishCommand.USAGE_ERROR;
    }
    WorkerMain.runUntilShutdown(workerSettings);
    return 0;
  }

  private static void putIfSet(Map<String, String> map, String key, String value) {
    if (value != null) {
      map.put(key, value);
    }
  }
}

package io.mmstream.cli;

import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where a command's settings come from: an optional properties file, the MMSTREAM_* environment
 * (which overrides the file), and {@code --bootstrap-servers} (which overrides both).
 */
public final class ConfigOptions {

  @Option(names = "--config", paramLabel = "FILE", description = "Properties file with mmstream and kafka.* settings.")
  Path configFile;

  @Option(names = {"-b", "--bootstrap-servers"}, paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers (overrides kafka.bootstrap.servers).")
  String bootstrapServers;

  public Settings settings() {
    Settings settings = Settings.load(configFile);
    return bootstrapServers == null ? settings : settings.with(KafkaSettings.BOOTSTRAP_SERVERS.key(), bootstrapServers);
  }
}

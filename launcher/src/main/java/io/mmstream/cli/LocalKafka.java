package io.mmstream.cli;

import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;

/**
 * The Kafka a local run talks to: the cluster named by the settings when one was given, otherwise a
 * real broker started inside this JVM (and stopped on close).
 */
final class LocalKafka implements AutoCloseable {
  private final EmbeddedKafkaBroker broker;
  private final Settings settings;

  private LocalKafka(EmbeddedKafkaBroker broker, Settings settings) {
    this.broker = broker;
    this.settings = settings;
  }

  /** Connects to {@code bootstrapServers} when not null, else starts an embedded broker. */
  static LocalKafka startOrConnect(Settings settings, String bootstrapServers) {
    if (bootstrapServers != null) {
      return new LocalKafka(null, settings.with(KafkaSettings.BOOTSTRAP_SERVERS.key(), bootstrapServers));
    }
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
    // The embedded broker listens in plaintext on localhost: security settings are for external clusters.
    return new LocalKafka(broker, settings.with(KafkaSettings.BOOTSTRAP_SERVERS.key(), broker.bootstrapServers())
        .with(KafkaSettings.SECURITY_PROTOCOL.key(), "PLAINTEXT"));
  }

  Settings settings() {
    return settings;
  }

  String bootstrapServers() {
    return settings.get(KafkaSettings.BOOTSTRAP_SERVERS);
  }

  boolean embedded() {
    return broker != null;
  }

  @Override
  public void close() {
    if (broker != null) {
      broker.close();
    }
  }
}

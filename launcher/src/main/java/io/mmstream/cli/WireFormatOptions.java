package io.mmstream.cli;

import io.mmstream.config.Settings;
import io.mmstream.serde.SchemaSettings;
import picocli.CommandLine.Option;

/** The wire format of records a command writes, and the Schema Registry it reads and registers schemas with. */
public final class WireFormatOptions {

  @Option(names = "--wire-format", paramLabel = "single-object|registry",
      description = "Format of written records (overrides mmstream.schemas.wire-format; registry needs a registry URL).")
  String wireFormat;

  @Option(names = "--registry-url", paramLabel = "URL",
      description = "Confluent-compatible Schema Registry (overrides mmstream.schemas.registry.url).")
  String registryUrl;

  Settings applyTo(Settings settings) {
    Settings result = settings;
    if (wireFormat != null) {
      result = result.with(SchemaSettings.WIRE_FORMAT.key(), wireFormat);
    }
    if (registryUrl != null) {
      result = result.with(SchemaSettings.REGISTRY_URL.key(), registryUrl);
    }
    return result;
  }
}

package io.mmstream.serde;

import io.mmstream.config.Setting;

/** Settings of the wire format. */
public final class SchemaSettings {
  private SchemaSettings() {}

  public static final Setting<String> EXTRA_PATH = Setting.string("mmstream.schemas.extra-path", "",
      "Directory of extra writer schemas (*.avsc) for records from newer producers; empty: none");
  public static final Setting<String> WIRE_FORMAT = Setting.string("mmstream.schemas.wire-format", "single-object",
      "single-object | registry: how ImageEvent, EnrichedImage, ModerationDecision and DeadLetter records are written"
          + " (registry: Confluent wire format, needs mmstream.schemas.registry.url); both are always read");
  public static final Setting<String> REGISTRY_URL = Setting.string("mmstream.schemas.registry.url", "",
      "Confluent-compatible Schema Registry base URL (Apicurio's /apis/ccompat/v7, Karapace, Confluent); empty: none");
  public static final Setting<Boolean> REGISTRY_AUTO_REGISTER = Setting.bool("mmstream.schemas.registry.auto-register",
      true, "Register the writer schema under <topic>-value (the registry checks compatibility); false: it must exist");
  public static final Setting<Integer> REGISTRY_TIMEOUT_MS = Setting.integer("mmstream.schemas.registry.timeout-ms",
      10_000, "Connect and request timeout of Schema Registry calls");
}

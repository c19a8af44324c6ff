package io.mmstream.serde;

import io.mmstream.config.Setting;

/** Settings of the wire format. */
public final class SchemaSettings {
  private SchemaSettings() {}

  public static final Setting<String> EXTRA_PATH = Setting.string("mmstream.schemas.extra-path", "",
      "Directory of extra writer schemas (*.avsc) for records from newer producers; empty: none");
}

package io.mmstream.model.visualglm;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.golden.GoldenFiles;
import java.io.IOException;
import java.nio.file.Path;

/** The visualglm-tiny goldens: tensors of golden.safetensors, cases and per-tensor atol of golden.json. */
public final class VisualGlmFixture extends GoldenFiles {
  public static final Path DIR = ROOT.resolve("visualglm").resolve("visualglm-tiny");

  public VisualGlmFixture() throws IOException {
    super(DIR);
  }

  public static boolean hasImage(JsonNode c) {
    return !c.path("image").isNull() && !c.path("image").isMissingNode();
  }

  public Path image(JsonNode c) {
    return DIR.resolve(c.get("image").asText());
  }
}

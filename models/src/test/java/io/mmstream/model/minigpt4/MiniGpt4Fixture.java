package io.mmstream.model.minigpt4;

import io.mmstream.model.golden.GoldenFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The minigpt4-tiny goldens: tensors of golden.safetensors, cases (one per chat turn) and per-tensor atol. */
public final class MiniGpt4Fixture extends GoldenFiles {
  public static final Path DIR = ROOT.resolve("minigpt4").resolve("minigpt4-tiny");

  public MiniGpt4Fixture() throws IOException {
    super(DIR);
  }

  public List<String> imageNames() {
    List<String> out = new ArrayList<>();
    json().get("images").forEach(n -> out.add(n.asText()));
    return out;
  }

  public Path image(String relative) {
    return DIR.resolve(relative);
  }
}

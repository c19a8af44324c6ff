package io.mmstream.model.qwenvl;

import io.mmstream.model.golden.GoldenFiles;
import java.io.IOException;
import java.nio.file.Path;

/** The qwen-vl-tiny goldens: tensors of golden.safetensors, cases and per-tensor atol of golden.json. */
public final class QwenVlFixture extends GoldenFiles {
  public static final Path DIR = ROOT.resolve("qwen-vl").resolve("qwen-vl-tiny");

  public QwenVlFixture() throws IOException {
    super(DIR);
  }
}

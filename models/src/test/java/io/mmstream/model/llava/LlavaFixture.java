package io.mmstream.model.llava;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.golden.GoldenFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** The llava-tiny goldens (haotian-liu/LLaVA + openai CLIP + Meta LLaMA): tensors, cases and per-tensor atol. */
public final class LlavaFixture extends GoldenFiles {
  public static final Path DIR = ROOT.resolve("llava").resolve("llava-tiny");

  public LlavaFixture() throws IOException {
    super(DIR);
  }

  /** The images in golden.json's pixel_values order. */
  public List<PixelImage> images() throws IOException {
    List<PixelImage> out = new ArrayList<>();
    for (JsonNode name : json().get("pixel_values_order")) {
      out.add(image(name.asText()));
    }
    return out;
  }

  public static PixelImage image(String relative) throws IOException {
    return PixelImage.from(ImageIO.read(DIR.resolve(relative).toFile()));
  }
}

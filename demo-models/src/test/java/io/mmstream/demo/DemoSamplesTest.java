package io.mmstream.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mmstream.demo.SceneGenerator.Scene;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The committed samples/ are what {@code bin/mmstream demo-samples} draws, ground truth included. */
class DemoSamplesTest {
  private static final Path SAMPLES =
      Path.of(System.getProperty("mmstream.home", "..")).toAbsolutePath().normalize().resolve("samples");

  @Test
  void committedSamplesAreTheGeneratorsScenes() throws Exception {
    List<Scene> scenes = DemoSamples.scenes();
    List<String> truth = Files.readAllLines(SAMPLES.resolve(DemoSamples.GROUND_TRUTH));
    assertEquals(DemoSamples.COUNT + 1, truth.size());
    for (int i = 0; i < scenes.size(); i++) {
      assertEquals(DemoSamples.fileName(i) + "\t" + scenes.get(i).caption(), truth.get(i + 1));
      BufferedImage committed = ImageIO.read(SAMPLES.resolve(DemoSamples.fileName(i)).toFile());
      // Antialiased edges may round differently on another JDK; the scene itself may not differ.
      assertTrue(meanAbsoluteDifference(committed, scenes.get(i).image()) < 1.0, DemoSamples.fileName(i));
    }
    assertEquals(List.of(1, 2, 3), scenes.stream().map(s -> s.shapes().size()).distinct().sorted().toList(),
        "the samples show scenes of one, two and three shapes");
  }

  private static double meanAbsoluteDifference(BufferedImage a, BufferedImage b) {
    assertEquals(a.getWidth(), b.getWidth());
    assertEquals(a.getHeight(), b.getHeight());
    long sum = 0;
    for (int y = 0; y < a.getHeight(); y++) {
      for (int x = 0; x < a.getWidth(); x++) {
        int p = a.getRGB(x, y);
        int q = b.getRGB(x, y);
        for (int shift = 0; shift <= 16; shift += 8) {
          sum += Math.abs(((p >> shift) & 0xff) - ((q >> shift) & 0xff));
        }
      }
    }
    return sum / (3.0 * a.getWidth() * a.getHeight());
  }
}

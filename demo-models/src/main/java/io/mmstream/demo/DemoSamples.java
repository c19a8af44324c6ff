package io.mmstream.demo;

import io.mmstream.demo.SceneGenerator.Scene;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * The demo's sample images: the first scenes of a fixed seed, written as {@code scene-NN.png} with
 * a {@code ground-truth.tsv} of their captions, so whoever runs the demo can check its output.
 */
public final class DemoSamples {
  /** Not a training or held-out seed; its first scenes show one, two and three shapes. */
  public static final long SEED = 20_261_204L;
  public static final int COUNT = 8;
  public static final String GROUND_TRUTH = "ground-truth.tsv";

  private DemoSamples() {}

  public static List<Scene> scenes() {
    SceneGenerator generator = new SceneGenerator(SEED, SceneGenerator.SAMPLE_SIZE);
    List<Scene> scenes = new ArrayList<>();
    for (int i = 0; i < COUNT; i++) {
      scenes.add(generator.next());
    }
    return scenes;
  }

  public static String fileName(int index) {
    return String.format("scene-%02d.png", index + 1);
  }

  /** Writes the sample images and their ground truth into {@code dir}. */
  public static void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Scene> scenes = scenes();
    StringBuilder truth = new StringBuilder("file\tcaption\n");
    for (int i = 0; i < scenes.size(); i++) {
      ImageIO.write(scenes.get(i).image(), "png", dir.resolve(fileName(i)).toFile());
      truth.append(fileName(i)).append('\t').append(scenes.get(i).caption()).append('\n');
    }
    Files.writeString(dir.resolve(GROUND_TRUTH), truth);
  }
}

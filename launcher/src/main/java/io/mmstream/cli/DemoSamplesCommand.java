package io.mmstream.cli;

import io.mmstream.demo.DemoSamples;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Draws the demo's sample scenes (the committed samples/ folder) with their ground truth. */
@Command(
    name = "demo-samples",
    mixinStandardHelpOptions = true,
    description = {"Draws the demo's sample scenes as PNGs with ground-truth.tsv (their captions); the committed "
        + "samples/ folder is this command's output."})
final class DemoSamplesCommand implements Callable<Integer> {
  @Option(names = "--out", description = "Output folder (default: samples/ in the project).")
  Path out;

  @Override
  public Integer call() throws Exception {
    Path target = out != null ? out : ProjectHome.path().resolve("samples");
    DemoSamples.write(target);
    System.out.println("wrote " + DemoSamples.COUNT + " scenes and " + DemoSamples.GROUND_TRUTH + " to " + target);
    return 0;
  }
}

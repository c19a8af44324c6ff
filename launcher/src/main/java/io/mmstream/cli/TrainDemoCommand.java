package io.mmstream.cli;

import io.mmstream.demo.train.DemoTraining;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Trains the demo's CLIP, BLIP caption, BLIP VQA and LLaVA chat models on synthetic scenes (CPU, DJL autograd). */
@Command(
    name = "train-demo",
    mixinStandardHelpOptions = true,
    description = {
        "Trains the four demo models from scratch on synthetic scenes with DJL autograd, using the model classes "
            + "that load real checkpoints, and writes them as Hugging Face directories (clip/, caption/, vqa/, chat/) "
            + "plus training.json. The same seed gives the same scenes, initial weights and schedule."})
final class TrainDemoCommand implements Callable<Integer> {
  @Option(names = "--out", description = "Output folder (default: demo-models/weights in the project).")
  Path out;

  @Option(names = "--seed", defaultValue = "7", description = "Seed of scenes and initial weights (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--step-scale", defaultValue = "1",
      description = "Multiplies every model's number of steps (default: ${DEFAULT-VALUE}; the shipped models use 1).")
  double stepScale;

  @Option(names = "--chat-only",
      description = "Train only the chat model (chat/), over the BLIP vision tower already in the output folder "
          + "(vqa/), and add its record to the training.json there.")
  boolean chatOnly;

  @Override
  public Integer call() throws Exception {
    Path target = out != null ? out : ProjectHome.path().resolve("demo-models/weights");
    System.out.println("training the demo " + (chatOnly ? "chat model" : "models") + " into " + target + " (seed "
        + seed + ")");
    var record = chatOnly ? DemoTraining.trainChat(target, seed, stepScale, System.out)
        : DemoTraining.trainAll(target, seed, stepScale, System.out);
    System.out.println("done in " + record.get("total_seconds").asLong() + " s; evaluate with: bin/mmstream eval-demo"
        + (out != null ? " --models " + target : ""));
    return 0;
  }
}

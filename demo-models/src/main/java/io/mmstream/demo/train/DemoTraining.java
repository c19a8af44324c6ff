package io.mmstream.demo.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Trains the three demo models into {@code clip/}, {@code caption/} and {@code vqa/} and records how
 * in {@code training.json}: the BLIP captioner and VQA model together over one vision tower, then
 * CLIP with its vision tower starting from that one. Learning the shapes is most of the work, so
 * all three models spend their steps on one tower. Each stage's scenes come from its own seed
 * derived from the run's seed, so one seed reproduces the whole run.
 */
public final class DemoTraining {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private DemoTraining() {}

  /** {@code stepScale} shortens (or lengthens) every model's default schedule; 1 is the shipped run. */
  public static ObjectNode trainAll(Path out, long seed, double stepScale, PrintStream log) throws IOException {
    TrainingPlan blip = scaled(BlipDemoTrainer.defaultPlan(seed + 1), stepScale);
    TrainingPlan clip = scaled(ClipDemoTrainer.defaultPlan(seed), stepScale);
    ObjectNode record = JSON.createObjectNode().put("seed", seed).put("step_scale", stepScale);
    long started = System.nanoTime();
    run(record, "caption_and_vqa", blip,
        () -> BlipDemoTrainer.train(out.resolve("caption"), out.resolve("vqa"), blip, log));
    run(record, "clip", clip,
        () -> ClipDemoTrainer.train(out.resolve("clip"), clip, Optional.of(out.resolve("caption")), log));
    record.put("total_seconds", Math.round((System.nanoTime() - started) / 1e9));
    record.put("command", "bin/mmstream train-demo --seed " + seed + (stepScale == 1 ? "" : " --step-scale " + stepScale));
    Files.writeString(out.resolve("training.json"), JSON.writeValueAsString(record));
    return record;
  }

  private interface Training {
    double run() throws IOException;
  }

  private static void run(ObjectNode record, String name, TrainingPlan plan, Training training) throws IOException {
    long started = System.nanoTime();
    double loss = training.run();
    record.putObject(name)
        .put("steps", plan.steps()).put("batch_size", plan.batchSize()).put("learning_rate", plan.learningRate())
        .put("seed", plan.seed()).put("final_loss", Math.round(loss * 1e4) / 1e4)
        .put("seconds", Math.round((System.nanoTime() - started) / 1e9));
  }

  private static TrainingPlan scaled(TrainingPlan plan, double scale) {
    return plan.withSteps(Math.max(1, (int) Math.round(plan.steps() * scale)));
  }
}

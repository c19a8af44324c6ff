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
 * Trains the four demo models into {@code clip/}, {@code caption/}, {@code vqa/} and {@code chat/} and records
 * how in {@code training.json}: the BLIP captioner and VQA model together over one vision tower, then
 * CLIP with its vision tower starting from that one, then the LLaVA chat model over the BLIP tower
 * (converted into CLIP's layout), frozen. Learning the shapes is most of the work, so all the models spend their steps on one tower.
 * Each stage's scenes come from its own seed derived from the run's seed, so one seed reproduces
 * the whole run.
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
    TrainingPlan chat = scaled(ChatDemoTrainer.defaultPlan(seed + 2), stepScale);
    run(record, "chat", chat, () -> ChatDemoTrainer.train(out.resolve("chat"), chat, out.resolve("vqa"), log));
    record.put("total_seconds", Math.round((System.nanoTime() - started) / 1e9));
    record.put("command", "bin/mmstream train-demo --seed " + seed + scaleOption(stepScale));
    Files.writeString(out.resolve("training.json"), JSON.writeValueAsString(record));
    return record;
  }

  /**
   * Trains only the chat model, over the BLIP tower already in {@code out/vqa}, and records it in the
   * training.json already there: its entry says it was trained alone and how, and {@code total_seconds}
   * becomes the sum of the stages' own times (the other stages' come from the earlier run).
   */
  public static ObjectNode trainChat(Path out, long seed, double stepScale, PrintStream log) throws IOException {
    Path recordFile = out.resolve("training.json");
    ObjectNode record = Files.isRegularFile(recordFile) ? (ObjectNode) JSON.readTree(recordFile.toFile())
        : JSON.createObjectNode().put("seed", seed).put("step_scale", stepScale);
    TrainingPlan chat = scaled(ChatDemoTrainer.defaultPlan(seed + 2), stepScale);
    run(record, "chat", chat, () -> ChatDemoTrainer.train(out.resolve("chat"), chat, out.resolve("vqa"), log));
    ((ObjectNode) record.get("chat")).put("trained_alone", true)
        .put("command", "bin/mmstream train-demo --chat-only --seed " + seed + scaleOption(stepScale));
    long total = 0;
    for (String stage : new String[] {"caption_and_vqa", "clip", "chat"}) {
      total += record.path(stage).path("seconds").asLong();
    }
    record.put("total_seconds", total);
    Files.writeString(recordFile, JSON.writeValueAsString(record));
    return record;
  }

  private static String scaleOption(double stepScale) {
    return stepScale == 1 ? "" : " --step-scale " + stepScale;
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

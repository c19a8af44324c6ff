package io.mmstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.demo.eval.DemoEvaluation;
import io.mmstream.model.clip.LabelSet;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Held-out accuracy of the demo models on scenes they never saw. */
@Command(
    name = "eval-demo",
    mixinStandardHelpOptions = true,
    description = {
        "Scores the demo models on held-out synthetic scenes: zero-shot tag top-1 over the demo label set, caption "
            + "exact match on the colour and shape words, VQA exact-answer accuracy, and chat exact-answer accuracy "
            + "over held-out conversations (all turns, and the follow-ups that need the history). With --json the "
            + "last line is {\"tag_top1\":..,\"caption_attr_exact\":..,\"vqa_accuracy\":..,\"chat_accuracy\":..,"
            + "\"chat_followup_accuracy\":..}."})
final class EvalDemoCommand implements Callable<Integer> {
  @Option(names = "--models",
      description = "Folder with clip/, caption/, vqa/ and chat/ (default: demo-models/weights in the project).")
  Path models;

  @Option(names = "--label-sets", description = "Label sets file (default: config/demo/label-sets.json).")
  Path labelSets;

  @Option(names = "--label-set", defaultValue = "demo", description = "Label set to tag with (default: ${DEFAULT-VALUE}).")
  String labelSet;

  @Option(names = "--scenes", defaultValue = "200", description = "Held-out scenes (default: ${DEFAULT-VALUE}).")
  int scenes;

  @Option(names = "--conversations", defaultValue = "100",
      description = "Held-out chat conversations, 2 or 3 turns each (default: ${DEFAULT-VALUE}).")
  int conversations;

  @Option(names = "--json", description = "End with one JSON line of the scores.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    Path home = ProjectHome.path();
    Path dir = models != null ? models : home.resolve("demo-models/weights");
    Path sets = labelSets != null ? labelSets : home.resolve("config/demo/label-sets.json");
    LabelSet set = DemoEvaluation.labelSet(sets, "demo", labelSet);
    DemoEvaluation.Result result = DemoEvaluation.evaluate(
        dir.resolve("clip"), dir.resolve("caption"), dir.resolve("vqa"), set, scenes, SceneGenerator.SAMPLE_SIZE);
    System.out.printf("held-out scenes: %d (seed %d), VQA questions: %d%n", result.scenes(),
        DemoEvaluation.HELD_OUT_SEED, result.questions());
    System.out.printf("tag top-1 (zero-shot, label set '%s'): %.3f%n", labelSet, result.tagTop1());
    System.out.printf("caption colour/shape words exact:  %.3f%n", result.captionAttributeExact());
    System.out.printf("VQA exact answer:                  %.3f%n", result.vqaAccuracy());
    DemoEvaluation.ChatResult chat = DemoEvaluation.evaluateChat(dir.resolve("chat"), conversations,
        SceneGenerator.SAMPLE_SIZE);
    System.out.printf("chat exact answer (%d conversations, %d turns): %.3f%n", chat.conversations(), chat.turns(),
        chat.accuracy());
    System.out.printf("chat follow-ups needing the history (%d):  %.3f%n", chat.followUps(), chat.followUpAccuracy());
    if (!result.examples().isEmpty() || !chat.examples().isEmpty()) {
      System.out.println("some misses:");
      result.examples().forEach(e -> System.out.println("  " + e));
      chat.examples().forEach(e -> System.out.println("  " + e));
    }
    if (json) {
      Map<String, Double> scores = new LinkedHashMap<>();
      scores.put("tag_top1", fourPlaces(result.tagTop1()));
      scores.put("caption_attr_exact", fourPlaces(result.captionAttributeExact()));
      scores.put("vqa_accuracy", fourPlaces(result.vqaAccuracy()));
      scores.put("chat_accuracy", fourPlaces(chat.accuracy()));
      scores.put("chat_followup_accuracy", fourPlaces(chat.followUpAccuracy()));
      System.out.println(new ObjectMapper().writeValueAsString(scores));
    }
    return 0;
  }

  /** Held-out counts are a few hundred, so digits past the fourth are noise. */
  private static double fourPlaces(double score) {
    return Math.round(score * 1e4) / 1e4;
  }
}

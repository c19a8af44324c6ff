package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.model.blip.BlipQuestionAnswerer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/mmstream vqa}: answers questions about an image with a Hugging Face BLIP VQA checkpoint. */
@Command(
    name = "vqa",
    mixinStandardHelpOptions = true,
    description = "Answer questions about an image with a BLIP checkpoint (BlipForQuestionAnswering directory).")
public final class VqaCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "HF model directory (config.json, safetensors, tokenizer).")
  Path model;

  @Option(names = "--image", required = true, description = "Image file.")
  Path image;

  @Option(names = "--question", required = true, arity = "1..*",
      description = "Question(s) or instruction(s); several run as one padded batch, as in the original.")
  List<String> questions;

  @Option(names = "--candidates", split = ",",
      description = "Closed answer set to rank (e.g. yes,no): per-candidate probability and score.")
  List<String> candidates = List.of();

  @Option(names = "--top-k", defaultValue = "" + BlipQuestionAnswerer.DEFAULT_RANK_TOP_K,
      description = "Candidates rescored after the first-token shortlist (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--beams", description = "Beam count (default: the original's 3).")
  Integer beams;

  @Option(names = "--greedy", description = "Plain greedy argmax.")
  boolean greedy;

  @Option(names = "--max-new-tokens", description = "Cap on generated tokens (default: the original's max_length 10).")
  int maxNewTokens;

  @Mixin
  BlipCliSupport.OutputOptions output;

  @Override
  public Integer call() throws Exception {
    var pixels = BlipCliSupport.readImage(image);
    try (NDManager manager = NDManager.newBaseManager();
        BlipQuestionAnswerer answerer = BlipQuestionAnswerer.load(model, manager)) {
      BlipQuestionAnswerer.Options defaults = answerer.defaultOptions();
      BlipQuestionAnswerer.Options options = new BlipQuestionAnswerer.Options(
          BlipCliSupport.decoding(defaults.generation(), greedy, beams), maxNewTokens, topK, true, output.logits);
      List<BlipQuestionAnswerer.Answer> answers = answerer.answer(pixels, questions, candidates, options);
      BlipCliSupport.Results results = new BlipCliSupport.Results();
      for (BlipQuestionAnswerer.Answer a : answers) {
        if (!output.json) {
          System.out.println(a.question() + " -> " + a.text()
              + (a.rankedAnswer() == null ? "" : "  [ranked: " + a.rankedAnswer() + "]"));
          continue;
        }
        ObjectNode r = results.add(image, "question", a.question(), a.ids(), a.text());
        BlipCliSupport.putStepLogits(r, a.stepLogits());
        if (!a.candidates().isEmpty()) {
          ArrayNode list = r.putArray("candidates");
          for (BlipQuestionAnswerer.CandidateScore c : a.candidates()) {
            ObjectNode node = list.addObject();
            node.put("answer", c.answer());
            node.put("probability", c.probability());
            BlipCliSupport.putNumber(node, "score", c.score());
            BlipCliSupport.putNumber(node, "log_likelihood", c.logLikelihood());
          }
          r.put("ranked_answer", a.rankedAnswer());
        }
      }
      if (output.json) {
        results.print();
      }
    }
    return 0;
  }
}

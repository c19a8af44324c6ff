package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream generate}: one command for every generative model; config.json says which family the directory
 * holds ({@link VisionLanguageModels}), and the family keeps its own prompt format and defaults.
 */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = "Generate text about images with any supported generative model directory (BLIP caption, BLIP-2, "
        + "InstructBLIP, ...): config.json picks the model. Decoding defaults are each model's original ones.")
public final class GenerateCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "HF model directory (config.json, weights, tokenizer).")
  Path model;

  @Option(names = "--image", description = "Image file; repeat for models that take several.")
  List<Path> images = new ArrayList<>();

  @Option(names = "--prompt", defaultValue = "",
      description = "The user's text (\"\" for plain captioning); the model applies its own prompt format.")
  String prompt;

  @Option(names = "--history",
      description = "JSON file: an array of [user, assistant] pairs, oldest first (chat models; others ignore it).")
  Path history;

  @ArgGroup(exclusive = true)
  Search search;

  static final class Search {
    @Option(names = "--greedy", description = "Plain greedy argmax (one beam, no minimum length or penalties).")
    boolean greedy;

    @Option(names = "--num-beams", description = "Beam search with this many beams.")
    Integer numBeams;
  }

  @Option(names = "--max-new-tokens", description = "Most tokens to generate (default: the model's own).")
  Integer maxNewTokens;

  @Mixin
  BlipCliSupport.OutputOptions output;

  @Override
  public Integer call() throws Exception {
    List<PixelImage> pixels = new ArrayList<>();
    for (Path image : images) {
      pixels.add(BlipCliSupport.readImage(image));
    }
    List<ChatTurn> turns = history == null ? List.of() : readHistory(history);
    Integer beams = search == null ? null : search.greedy ? Integer.valueOf(1) : search.numBeams;
    DecodingOptions decoding = new DecodingOptions(maxNewTokens, beams, output.logits, null);
    try (NDManager manager = NDManager.newBaseManager();
        VisionLanguageModel vlm = VisionLanguageModels.load(model, manager)) {
      if (!turns.isEmpty() && !vlm.supportsHistory()) {
        System.err.println("warning: " + vlm.modelType() + " has no chat; --history ignored");
        turns = List.of();
      }
      GenerationRequest request = new GenerationRequest(pixels, imageNames(), prompt, turns, true);
      GeneratedText result = vlm.generate(List.of(request), decoding).get(0);
      if (result.droppedTurns() > 0) {
        System.err.println("note: the " + result.droppedTurns() + " oldest history turn(s) did not fit the model's "
            + "context and were left out");
      }
      if (!output.json) {
        System.out.println(result.text());
        return 0;
      }
      ObjectNode root = BlipCliSupport.JSON.createObjectNode();
      root.put("model_type", vlm.modelType());
      ObjectNode r = root.putArray("results").addObject();
      r.set("prompt_ids", BlipCliSupport.ids(result.promptIds()));
      r.set("ids", BlipCliSupport.ids(result.ids()));
      r.put("text", result.text());
      r.put("dropped_turns", result.droppedTurns());
      BlipCliSupport.putStepLogits(r, result.stepLogits());
      System.out.println(BlipCliSupport.JSON.writeValueAsString(root));
    }
    return 0;
  }

  /** The image paths as given: models whose prompts name their images (Qwen-VL's {@code <img>PATH</img>}) write them. */
  private List<String> imageNames() {
    return images.stream().map(Path::toString).toList();
  }

  /** The original chat APIs' {@code history}: {@code [[user, assistant], ...]}. */
  static List<ChatTurn> readHistory(Path file) throws IOException {
    JsonNode root = BlipCliSupport.JSON.readTree(file.toFile());
    if (!root.isArray()) {
      throw new IOException(file + ": history must be a JSON array of [user, assistant] pairs");
    }
    List<ChatTurn> turns = new ArrayList<>();
    for (JsonNode pair : (ArrayNode) root) {
      if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isTextual() || !pair.get(1).isTextual()) {
        throw new IOException(file + ": history entry " + pair + " is not a [user, assistant] pair of strings");
      }
      turns.add(new ChatTurn(pair.get(0).asText(), pair.get(1).asText()));
    }
    return turns;
  }
}

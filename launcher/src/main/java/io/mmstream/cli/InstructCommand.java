package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.instructblip.InstructAnswer;
import io.mmstream.model.instructblip.InstructBlipAnswerer;
import io.mmstream.model.instructblip.InstructBlipOptions;
import io.mmstream.model.instructblip.InstructGeneration;
import io.mmstream.model.instructblip.InstructRequest;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/mmstream instruct}: answers instructions about an image with an InstructBLIP (Vicuna) checkpoint. */
@Command(
    name = "instruct",
    mixinStandardHelpOptions = true,
    description = "Answer instructions about an image with InstructBLIP + LLaMA/Vicuna "
        + "(InstructBlipForConditionalGeneration directory). Defaults are LAVIS': 5 beams, repetition penalty 1.5, "
        + "1..256 new tokens.")
public final class InstructCommand implements Callable<Integer> {
  private static final InstructGeneration LAVIS = InstructGeneration.lavisDefaults();

  @Option(names = "--model", required = true,
      description = "HF model directory (config.json, safetensors, tokenizer.json, qformer_tokenizer/).")
  Path model;

  @Option(names = "--image", required = true, description = "Image file.")
  Path image;

  @Option(names = "--instruction", required = true, arity = "1..*",
      description = "Instruction(s); several run as one left-padded batch, as in the original.")
  List<String> instructions;

  @Option(names = "--greedy",
      description = "Plain greedy argmax: 1 beam, no repetition penalty, no minimum length (unless given).")
  boolean greedy;

  @Option(names = "--beams", description = "Beam count (default: 5, or 1 with --greedy).")
  Integer beams;

  @Option(names = "--max-new-tokens", description = "Most tokens to generate (default: 256).")
  Integer maxNewTokens;

  @Option(names = "--min-new-tokens",
      description = "End of sequence is forbidden before this many (default: 1, or 0 with --greedy).")
  Integer minNewTokens;

  @Option(names = "--repetition-penalty", description = "Penalty on generated tokens (default: 1.5, or 1 with --greedy).")
  Float repetitionPenalty;

  @Option(names = "--no-kv-cache", description = "Recompute the whole sequence every step (the reference path).")
  boolean noKvCache;

  @Option(names = "--yes-no", description = "Also give P(yes) vs P(no) for each instruction (as \"p_yes\").")
  boolean yesNo;

  @Option(names = "--hf-ln-vision-eps",
      description = "Use vision_config.layer_norm_eps for the final vision LayerNorm as HF does (default: 1e-5 as LAVIS).")
  boolean hfLnVisionEps;

  @Mixin
  BlipCliSupport.OutputOptions output;

  @Override
  public Integer call() throws Exception {
    PixelImage pixels = BlipCliSupport.readImage(image);
    InstructGeneration settings = new InstructGeneration(
        maxNewTokens != null ? maxNewTokens : LAVIS.maxNewTokens(),
        minNewTokens != null ? minNewTokens : greedy ? 0 : LAVIS.minNewTokens(),
        beams != null ? beams : greedy ? 1 : LAVIS.numBeams(),
        repetitionPenalty != null ? repetitionPenalty : greedy ? 1f : LAVIS.repetitionPenalty(),
        LAVIS.lengthPenalty(),
        !noKvCache,
        output.logits);
    InstructBlipOptions options =
        hfLnVisionEps ? InstructBlipOptions.defaults().hfPostLayerNormEps() : InstructBlipOptions.defaults();
    try (NDManager manager = NDManager.newBaseManager();
        InstructBlipAnswerer answerer = InstructBlipAnswerer.load(model, manager, options)) {
      List<InstructAnswer> answers = answerer.answer(pixels, instructions, settings);
      double[] yes = yesNo ? answerer.yesProbabilities(
          instructions.stream().map(i -> new InstructRequest(pixels, i)).toList())
          : null;
      BlipCliSupport.Results results = new BlipCliSupport.Results();
      for (int i = 0; i < answers.size(); i++) {
        InstructAnswer a = answers.get(i);
        if (!output.json) {
          String score = yes == null ? "" : String.format(Locale.ROOT, "  [P(yes) %.4f]", yes[i]);
          System.out.println(a.instruction() + " -> " + a.text() + score);
          continue;
        }
        ObjectNode r = results.add(image, "instruction", a.instruction(), a.ids(), a.text());
        if (yes != null) {
          r.put("p_yes", yes[i]);
        }
        BlipCliSupport.putStepLogits(r, a.stepLogits());
      }
      if (output.json) {
        results.print();
      }
    }
    return 0;
  }
}

package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipCaptioner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/mmstream caption}: captions images with a Hugging Face BLIP captioning checkpoint. */
@Command(
    name = "caption",
    mixinStandardHelpOptions = true,
    description = "Caption images with a BLIP checkpoint (BlipForConditionalGeneration directory).")
public final class CaptionCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "HF model directory (config.json, safetensors, tokenizer).")
  Path model;

  @Option(names = "--image", required = true, arity = "1..*", description = "Image file(s); all run as one batch.")
  List<Path> images;

  @Option(names = "--prompt", defaultValue = BlipCaptioner.DEFAULT_PROMPT,
      description = "Text the caption continues; \"\" for an unconditional caption (default: '${DEFAULT-VALUE}').")
  String prompt;

  @Option(names = "--beams", description = "Beam count (default: the original's 3).")
  Integer beams;

  @Option(names = "--greedy", description = "Plain greedy argmax, without the original's minimum length.")
  boolean greedy;

  @Option(names = "--max-new-tokens", description = "Cap on generated tokens (default: the original's max_length 30 incl. prompt).")
  int maxNewTokens;

  @Mixin
  BlipCliSupport.OutputOptions output;

  @Override
  public Integer call() throws Exception {
    List<PixelImage> pixels = new ArrayList<>();
    for (Path image : images) {
      pixels.add(BlipCliSupport.readImage(image));
    }
    try (NDManager manager = NDManager.newBaseManager();
        BlipCaptioner captioner = BlipCaptioner.load(model, manager)) {
      BlipCaptioner.Options defaults = captioner.defaultOptions();
      BlipCaptioner.Options options = new BlipCaptioner.Options(
          prompt, BlipCliSupport.decoding(defaults.generation(), greedy, beams), maxNewTokens, true, output.logits);
      List<BlipCaptioner.Caption> captions = captioner.caption(pixels, options);
      BlipCliSupport.Results results = new BlipCliSupport.Results();
      for (int i = 0; i < captions.size(); i++) {
        BlipCaptioner.Caption c = captions.get(i);
        if (!output.json) {
          System.out.println(images.get(i) + ": " + c.text());
          continue;
        }
        ObjectNode r = results.add(images.get(i), null, null, c.ids(), c.text());
        BlipCliSupport.putStepLogits(r, c.stepLogits());
      }
      if (output.json) {
        results.print();
      }
    }
    return 0;
  }
}

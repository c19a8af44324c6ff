package io.mmstream.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.model.blip.BlipConfig;
import io.mmstream.model.blip.BlipForConditionalGeneration;
import io.mmstream.model.blip.BlipForQuestionAnswering;
import io.mmstream.model.generation.GenerationConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream bench blip}: captions/s and answers/s of the real-shape BLIP presets with random
 * weights, greedy and beam search, with and without the decoder KV cache.
 *
 * <p>Images (and questions) are encoded once per batch size and that time is added to every decoding
 * variant, so items/s is the whole pipeline's rate while the shared encoder runs only once.
 * Sequences are forced to exactly {@code --max-new-tokens} tokens (the stop token is suppressed) so
 * every variant does the same work.
 */
@Command(name = "blip", mixinStandardHelpOptions = true,
    description = "BLIP captioning / VQA throughput (random weights, real shapes) on CPU, and GPU when present.")
public final class BenchBlipCommand implements Callable<Integer> {
  /** "a picture of " as the original feeds it: [DEC] a picture of. */
  private static final long[] CAPTION_PROMPT = {30522, 1037, 3861, 1997};
  /** "what is in the picture?" with [ENC] in place of [CLS]. */
  private static final long[] QUESTION = {30523, 2054, 2003, 1999, 1996, 3861, 1029, 102};
  private static final long SEED = 42;

  @Option(names = "--preset", split = ",", defaultValue = "caption-base",
      description = "caption-base and/or vqa-base (default: ${DEFAULT-VALUE}).")
  List<String> presets;

  @Option(names = "--batch", split = ",", defaultValue = "1,8", description = "Batch sizes (default: ${DEFAULT-VALUE}).")
  List<Integer> batches;

  @Option(names = "--beams", split = ",", defaultValue = "1,3", description = "Beam counts (default: ${DEFAULT-VALUE}).")
  List<Integer> beamCounts;

  @Option(names = "--max-new-tokens", defaultValue = "5", description = "Tokens generated per item (default: ${DEFAULT-VALUE}).")
  int newTokens;

  @Option(names = "--iterations", defaultValue = "1", description = "Timed runs per variant (default: ${DEFAULT-VALUE}).")
  int iterations;

  @Mixin
  BenchSupport.Options common;

  @Override
  public Integer call() throws Exception {
    List<Device> devices = BenchSupport.startEngine(common);
    ObjectNode root = BlipCliSupport.JSON.createObjectNode();
    root.put("device", String.join("+", devices.stream().map(Device::toString).toList()));
    root.put("intra_op_threads", common.threadsLabel());
    ArrayNode results = root.putArray("results");
    for (Device device : devices) {
      for (String preset : presets) {
        try (NDManager manager = NDManager.newBaseManager(device)) {
          switch (preset) {
            case "caption-base" -> benchCaption(manager, device, results);
            case "vqa-base" -> benchVqa(manager, device, results);
            default -> throw new IllegalArgumentException("unknown preset '" + preset + "' (caption-base, vqa-base)");
          }
        }
      }
    }
    if (common.json) {
      System.out.println(BlipCliSupport.JSON.writeValueAsString(root));
    }
    return 0;
  }

  private void benchCaption(NDManager manager, Device device, ArrayNode results) throws Exception {
    try (BlipForConditionalGeneration model =
        BlipForConditionalGeneration.random(BlipConfig.captioningBase(), manager, SEED)) {
      int length = CAPTION_PROMPT.length + newTokens;
      for (int batch : batches) {
        try (NDManager call = manager.newSubManager()) {
          NDArray pixels = pixels(call, batch, model.config());
          model.generate(model.encodeImages(pixels.get("0:1")), CAPTION_PROMPT, fixedLength(model.config(), 1, 2), true, false);
          long start = System.nanoTime();
          NDArray states = null;
          for (int i = 0; i < iterations; i++) {
            if (states != null) {
              states.close();
            }
            states = model.encodeImages(pixels);
          }
          double encodeSeconds = BenchSupport.seconds(start) / iterations;
          for (int beams : beamCounts) {
            for (boolean cache : new boolean[] {true, false}) {
              GenerationConfig config = fixedLength(model.config(), beams, length);
              long t = System.nanoTime();
              for (int i = 0; i < iterations; i++) {
                model.generate(states, CAPTION_PROMPT, config, cache, false);
              }
              report(results, device, "caption", batch, beams, cache, encodeSeconds, BenchSupport.seconds(t) / iterations);
            }
          }
        }
      }
    }
  }

  private void benchVqa(NDManager manager, Device device, ArrayNode results) throws Exception {
    try (BlipForQuestionAnswering model = BlipForQuestionAnswering.random(BlipConfig.vqaBase(), manager, SEED)) {
      for (int batch : batches) {
        try (NDManager call = manager.newSubManager()) {
          NDArray pixels = pixels(call, batch, model.config());
          long[][] questions = new long[batch][];
          Arrays.fill(questions, QUESTION);
          NDArray ids = call.create(questions);
          model.answer(model.encodeQuestions(ids.get("0:1"), null, model.encodeImages(pixels.get("0:1"))),
              fixedLength(model.config(), 1, 2), true, false);
          long start = System.nanoTime();
          NDArray states = null;
          for (int i = 0; i < iterations; i++) {
            if (states != null) {
              states.close();
            }
            NDArray images = model.encodeImages(pixels);
            states = model.encodeQuestions(ids, null, images);
            images.close();
          }
          double encodeSeconds = BenchSupport.seconds(start) / iterations;
          for (int beams : beamCounts) {
            for (boolean cache : new boolean[] {true, false}) {
              GenerationConfig config = fixedLength(model.config(), beams, 1 + newTokens);
              long t = System.nanoTime();
              for (int i = 0; i < iterations; i++) {
                model.answer(states, config, cache, false);
              }
              report(results, device, "vqa", batch, beams, cache, encodeSeconds, BenchSupport.seconds(t) / iterations);
            }
          }
        }
      }
    }
  }

  private static GenerationConfig fixedLength(BlipConfig config, int beams, int length) {
    return new GenerationConfig(length, length, beams, 1f, 1f, config.text().sepTokenId(), config.text().padTokenId());
  }

  private static NDArray pixels(NDManager call, int batch, BlipConfig config) {
    int size = config.vision().imageSize();
    return call.randomUniform(-2f, 2f, new Shape(batch, 3, size, size));
  }

  private static void report(ArrayNode results, Device device, String task, int batch, int beams, boolean cache,
      double encodeSeconds, double generateSeconds) {
    double itemsPerSecond = batch / (encodeSeconds + generateSeconds);
    System.out.printf(Locale.ROOT, "%-4s %-7s batch %d beams %d kv_cache %-5s  encode %7.3f s  generate %7.3f s  %7.3f %s/s%n",
        device, task, batch, beams, cache, encodeSeconds, generateSeconds, itemsPerSecond,
        task.equals("caption") ? "captions" : "answers");
    ObjectNode r = results.addObject();
    r.put("device", device.toString());
    r.put("task", task);
    r.put("batch", batch);
    r.put("beams", beams);
    r.put("kv_cache", cache);
    r.put("items_per_s", itemsPerSecond);
    r.put("encode_s", encodeSeconds);
    r.put("generate_s", generateSeconds);
  }
}

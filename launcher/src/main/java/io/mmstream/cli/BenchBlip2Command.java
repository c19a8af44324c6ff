package io.mmstream.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.model.blip2.Blip2Config;
import io.mmstream.model.blip2.Blip2OptForConditionalGeneration;
import io.mmstream.model.blip2.Blip2T5ForConditionalGeneration;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.opt.OptConfig;
import io.mmstream.model.t5.T5Config;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream bench blip2}: BLIP-2 throughput at real shapes with random weights, in two parts so that it fits a
 * small machine: EVA ViT-g + Q-Former (images/s), and {@code --llm-layers} real-shape language-model layers (OPT-2.7B
 * decoder layers, or Flan-T5-XL encoder and decoder layers each) timed as prefill and as cached decoding steps; the
 * end-of-sequence token is suppressed so every run generates the same count.
 */
@Command(name = "blip2", mixinStandardHelpOptions = true,
    description = "BLIP-2 (OPT-2.7B or Flan-T5-XL shapes, random weights): vision + Q-Former images/s, and prefill/decode "
        + "tokens/s of K real-shape language-model layers, on CPU and on GPU when present.")
public final class BenchBlip2Command implements Callable<Integer> {
  private static final long SEED = 42;
  private static final String OPT = "opt-2.7b-shapes";
  private static final String T5 = "flan-t5-xl-shapes";

  @Option(names = "--preset", defaultValue = OPT, description = "Shapes: " + OPT + " or " + T5 + " (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--llm-layers", defaultValue = "2",
      description = "Real-shape language-model layers to build and time (T5: per stack) (default: ${DEFAULT-VALUE}).")
  int llmLayers;

  @Option(names = "--batch", defaultValue = "1", description = "Images / prompts per batch (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--prompt-tokens", defaultValue = "16",
      description = "Prompt length after the 32 visual queries (default: ${DEFAULT-VALUE}).")
  int promptTokens;

  @Option(names = "--max-new-tokens", defaultValue = "8", description = "Tokens generated per prompt (default: ${DEFAULT-VALUE}).")
  int newTokens;

  @Option(names = "--iterations", defaultValue = "1", description = "Timed runs per part (default: ${DEFAULT-VALUE}).")
  int iterations;

  @Mixin
  BenchSupport.Options common;

  @Override
  public Integer call() throws Exception {
    if (!preset.equals(OPT) && !preset.equals(T5)) {
      throw new IllegalArgumentException("unknown preset '" + preset + "' (" + OPT + ", " + T5 + ")");
    }
    if (llmLayers < 1 || newTokens < 2 || batch < 1 || iterations < 1) {
      throw new IllegalArgumentException("need --llm-layers >= 1, --max-new-tokens >= 2, --batch >= 1, --iterations >= 1");
    }
    List<Device> devices = BenchSupport.startEngine(common);
    ObjectNode root = BlipCliSupport.JSON.createObjectNode();
    root.put("preset", preset);
    root.put("llm_layers", llmLayers);
    root.put("batch", batch);
    root.put("intra_op_threads", common.threadsLabel());
    ArrayNode results = root.putArray("results");
    for (Device device : devices) {
      // The released checkpoints are half precision: GPUs compute in float16, the CPU widens to float32.
      DataType type = device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
      benchVisionAndQformer(device, type, results);
      benchLanguageModel(device, type, results);
    }
    if (common.json) {
      System.out.println(BlipCliSupport.JSON.writeValueAsString(root));
    }
    return 0;
  }

  private boolean t5() {
    return preset.equals(T5);
  }

  /** A model of the preset's shapes with {@code layers} language-model layers (0: the image side alone). */
  private AutoCloseable model(Blip2Config image, int layers, NDManager manager, DataType type) {
    return t5()
        ? Blip2T5ForConditionalGeneration.random(image, T5Config.flanT5Xl().withLayers(layers, layers), manager, type, SEED)
        : Blip2OptForConditionalGeneration.random(image, OptConfig.opt27b().withLayers(layers), manager, type, SEED);
  }

  private void benchVisionAndQformer(Device device, DataType type, ArrayNode results) throws Exception {
    Blip2Config config = Blip2Config.released(t5() ? "t5" : "opt");
    try (NDManager manager = NDManager.newBaseManager(device);
        AutoCloseable built = model(config, 0, manager, type)) {
      int size = config.vision().imageSize();
      double seconds = 0;
      for (int i = 0; i <= iterations; i++) {
        try (NDManager call = manager.newSubManager()) {
          NDArray pixels = call.randomUniform(-2f, 2f, new Shape(batch, 3, size, size));
          long start = System.nanoTime();
          NDArray prefix = built instanceof Blip2T5ForConditionalGeneration m
              ? m.project(m.encoder().queryOutput(m.encoder().encodeImages(pixels)))
              : ((Blip2OptForConditionalGeneration) built).visualPrefix(
                  ((Blip2OptForConditionalGeneration) built).encoder().encodeImages(pixels));
          prefix.toType(DataType.FLOAT32, false).sum().getFloat();
          if (i > 0) {
            seconds += BenchSupport.seconds(start);
          }
        }
      }
      seconds /= iterations;
      double imagesPerSecond = batch / seconds;
      System.out.printf(Locale.ROOT, "%-5s vision+qformer  batch %d  %8.3f s/batch  %7.3f images/s%n",
          device, batch, seconds, imagesPerSecond);
      ObjectNode r = results.addObject();
      r.put("device", device.toString());
      r.put("part", "vision+qformer");
      r.put("seconds_per_batch", seconds);
      r.put("images_per_s", imagesPerSecond);
    }
  }

  private void benchLanguageModel(Device device, DataType type, ArrayNode results) throws Exception {
    Blip2Config config = Blip2Config.released(t5() ? "t5" : "opt").withoutVisionLayers();
    try (NDManager manager = NDManager.newBaseManager(device);
        AutoCloseable built = model(config, llmLayers, manager, type)) {
      long width = t5() ? T5Config.flanT5Xl().dModel() : OptConfig.opt27b().hiddenSize();
      long vocab = t5() ? T5Config.flanT5Xl().vocabSize() : OptConfig.opt27b().vocabSize();
      int prefillTokens = batch * (config.numQueryTokens() + promptTokens);
      DecodeTiming timing = DecodeTiming.measure(manager, iterations, prefillTokens, batch, newTokens, call -> {
        NDArray prefix = call.randomNormal(0f, 1f, new Shape(batch, config.numQueryTokens(), width), type);
        NDArray prompt = call.randomInteger(3, vocab, new Shape(batch, promptTokens), DataType.INT64);
        NDArray mask = call.ones(new Shape(batch, promptTokens), DataType.INT64);
        return tokens -> generate(built, prefix, prompt, mask, tokens);
      });
      System.out.printf(Locale.ROOT, "%-5s llm %d layers  batch %d  %s%n", device, llmLayers, batch, timing.summary());
      ObjectNode r = results.addObject();
      r.put("device", device.toString());
      r.put("part", "llm");
      r.put("llm_layers", llmLayers);
      timing.putInto(r);
    }
  }

  /** Generates exactly {@code tokens} new tokens (the stop token forbidden until then). */
  private static void generate(AutoCloseable built, NDArray prefix, NDArray prompt, NDArray mask, int tokens) {
    if (built instanceof Blip2T5ForConditionalGeneration m) {
      // T5 lengths count the decoder start token.
      m.generate(prefix, prompt, mask, new GenerationConfig(1 + tokens, 1 + tokens, 1, 1f, 1f,
          m.textConfig().eosTokenId(), m.textConfig().padTokenId()), false);
    } else {
      Blip2OptForConditionalGeneration m = (Blip2OptForConditionalGeneration) built;
      m.generate(prefix, prompt, mask, new GenerationConfig(tokens, tokens, 1, 1f, 1f, m.textConfig().eosTokenId(),
          m.textConfig().padTokenId()), false);
    }
  }
}

package io.mmstream.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.model.blip.BlipVisionConfig;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.instructblip.InstructBlipConfig;
import io.mmstream.model.instructblip.InstructBlipForConditionalGeneration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream bench instruct}: InstructBLIP throughput at the real Vicuna-7B shapes with random
 * weights, in two parts so that it fits a small machine: the vision tower + Q-Former (EVA ViT-g,
 * 39 layers; Q-Former 12 layers) and {@code --llm-layers} real-shape LLaMA layers (with the real
 * embedding and LM head). The LLM part is timed as prefill (visual queries + prompt) and as cached
 * decoding steps; the end-of-sequence token is suppressed so every run generates the same count.
 */
@Command(name = "instruct", mixinStandardHelpOptions = true,
    description = "InstructBLIP (Vicuna-7B shapes, random weights): vision + Q-Former images/s, and prefill/decode "
        + "tokens/s of K real-shape LLaMA layers, on CPU and on GPU when present.")
public final class BenchInstructCommand implements Callable<Integer> {
  private static final long SEED = 42;
  /** "what is in the picture?" through the Q-Former's tokenizer. */
  private static final long[] QFORMER_INSTRUCTION = {101, 2054, 2003, 1999, 1996, 3861, 1029, 102};

  @Option(names = "--preset", defaultValue = "vicuna-7b-shapes", description = "Shapes (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--llm-layers", defaultValue = "2",
      description = "Real-shape LLaMA decoder layers to build and time (default: ${DEFAULT-VALUE} of 32).")
  int llmLayers;

  @Option(names = "--batch", defaultValue = "1", description = "Images / prompts per batch (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--prompt-tokens", defaultValue = "16",
      description = "LLM prompt length after the 32 visual queries (default: ${DEFAULT-VALUE}).")
  int promptTokens;

  @Option(names = "--max-new-tokens", defaultValue = "8",
      description = "Tokens generated per prompt (default: ${DEFAULT-VALUE}).")
  int newTokens;

  @Option(names = "--iterations", defaultValue = "1", description = "Timed runs per part (default: ${DEFAULT-VALUE}).")
  int iterations;

  @Mixin
  BenchSupport.Options common;

  @Override
  public Integer call() throws Exception {
    if (!preset.equals("vicuna-7b-shapes")) {
      throw new IllegalArgumentException("unknown preset '" + preset + "' (vicuna-7b-shapes)");
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
      // The released checkpoint is float16: GPUs compute in it, the CPU widens to float32.
      DataType type = device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
      benchVisionAndQformer(device, type, results);
      benchLanguageModel(device, type, results);
    }
    if (common.json) {
      System.out.println(BlipCliSupport.JSON.writeValueAsString(root));
    }
    return 0;
  }

  /** EVA ViT-g + Q-Former at real shapes; the LLM has no layers here (its part is timed separately). */
  private void benchVisionAndQformer(Device device, DataType type, ArrayNode results) throws Exception {
    InstructBlipConfig full = InstructBlipConfig.vicuna7b();
    InstructBlipConfig config = full.withText(full.text().withLayers(0));
    try (NDManager manager = NDManager.newBaseManager(device);
        InstructBlipForConditionalGeneration model =
            InstructBlipForConditionalGeneration.random(config, manager, type, SEED)) {
      int size = config.vision().imageSize();
      long[][] instruction = new long[batch][];
      Arrays.fill(instruction, QFORMER_INSTRUCTION);
      long[][] mask = new long[batch][QFORMER_INSTRUCTION.length];
      for (long[] row : mask) {
        Arrays.fill(row, 1L);
      }
      double seconds = 0;
      for (int i = 0; i <= iterations; i++) {
        try (NDManager call = manager.newSubManager()) {
          NDArray pixels = call.randomUniform(-2f, 2f, new Shape(batch, 3, size, size));
          long start = System.nanoTime();
          NDArray prefix = model.visualPrefix(model.encodeImages(pixels), call.create(instruction), call.create(mask));
          prefix.toType(DataType.FLOAT32, false).sum().getFloat();
          if (i > 0) {
            seconds += BenchSupport.seconds(start);
          }
        }
      }
      seconds /= iterations;
      double imagesPerSecond = batch / seconds;
      double queriesPerSecond = imagesPerSecond * config.numQueryTokens();
      System.out.printf(Locale.ROOT,
          "%-5s vision+qformer  batch %d  %8.3f s/batch  %7.3f images/s  %8.2f query tokens/s%n",
          device, batch, seconds, imagesPerSecond, queriesPerSecond);
      ObjectNode r = results.addObject();
      r.put("device", device.toString());
      r.put("part", "vision+qformer");
      r.put("seconds_per_batch", seconds);
      r.put("images_per_s", imagesPerSecond);
      r.put("query_tokens_per_s", queriesPerSecond);
    }
  }

  /** {@code --llm-layers} real-shape LLaMA layers; the vision tower is left out (no layers) to save memory. */
  private void benchLanguageModel(Device device, DataType type, ArrayNode results) throws Exception {
    InstructBlipConfig full = InstructBlipConfig.vicuna7b();
    BlipVisionConfig v = full.vision();
    BlipVisionConfig noVisionLayers = new BlipVisionConfig(v.hiddenSize(), v.intermediateSize(), 0,
        v.numAttentionHeads(), v.numChannels(), v.imageSize(), v.patchSize(), v.hiddenAct(), v.layerNormEps());
    InstructBlipConfig config = new InstructBlipConfig(
        noVisionLayers, full.qformer(), full.text().withLayers(llmLayers), full.numQueryTokens());
    try (NDManager manager = NDManager.newBaseManager(device);
        InstructBlipForConditionalGeneration model =
            InstructBlipForConditionalGeneration.random(config, manager, type, SEED)) {
      long eos = config.text().eosTokenIds().get(0);
      long pad = config.text().padTokenId();
      int prefillTokens = batch * (config.numQueryTokens() + promptTokens);
      DecodeTiming timing = DecodeTiming.measure(manager, iterations, prefillTokens, batch, newTokens, call -> {
        NDArray prefix = call.randomNormal(0f, 1f, new Shape(batch, config.numQueryTokens(), config.text().hiddenSize()),
            type);
        NDArray prompt = call.randomInteger(3, config.text().vocabSize(), new Shape(batch, promptTokens), DataType.INT64);
        NDArray mask = call.ones(new Shape(batch, promptTokens), DataType.INT64);
        // min = max new tokens: the stop token is forbidden until then, so every run makes exactly that many
        return tokens -> model.generate(prefix, prompt, mask,
            new GenerationConfig(tokens, tokens, 1, 1f, 1f, eos, pad), true, false);
      });
      System.out.printf(Locale.ROOT, "%-5s llm %d layers  batch %d  %s%n", device, llmLayers, batch, timing.summary());
      ObjectNode r = results.addObject();
      r.put("device", device.toString());
      r.put("part", "llm");
      r.put("llm_layers", llmLayers);
      timing.putInto(r);
    }
  }
}

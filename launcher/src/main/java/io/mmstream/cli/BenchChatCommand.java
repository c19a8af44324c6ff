package io.mmstream.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream bench chat}: a visual chat model at its real shapes with random weights, in two parts so it
 * fits a small machine: the vision side (images/s) and {@code --llm-layers} real-shape decoder layers with the real
 * embedding and head, timed as prefill (one image's rows plus the prompt) and as cached decoding steps.
 *
 * <p>Precision: GPUs compute in the checkpoint's stored precision (float16 for the presets here); the CPU computes
 * in float32, as the loaders widen float16 weights there (this engine has no fast CPU float16 or bfloat16 path).
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
    description = "Visual chat model at real shapes (random weights): vision images/s, and prefill/decode tokens/s "
        + "of K real-shape decoder layers, on CPU and on GPU when present.")
public final class BenchChatCommand implements Callable<Integer> {
  /** Every preset {@code --preset} accepts; each family adds its own. */
  static final List<ChatBenchPreset> PRESETS = List.of(new LlavaBenchPreset(), new VisualGlmBenchPreset(),
      new MiniGpt4BenchPreset(), new QwenVlBenchPreset());

  private static final long SEED = 42;

  @Option(names = "--preset", required = true,
      description = "Model shapes: llava-1.5-7b-shapes, visualglm-6b-shapes, minigpt4-7b-shapes, qwen-vl-chat-shapes.")
  String preset;

  @Option(names = "--llm-layers", defaultValue = "2",
      description = "Real-shape decoder layers to build and time (default: ${DEFAULT-VALUE}).")
  int llmLayers;

  @Option(names = "--prompt-tokens", defaultValue = "64",
      description = "Text tokens of the prompt besides the image's (default: ${DEFAULT-VALUE}).")
  int promptTokens;

  @Option(names = "--max-new-tokens", defaultValue = "8",
      description = "Tokens generated per prompt (default: ${DEFAULT-VALUE}).")
  int newTokens;

  @Option(names = "--iterations", defaultValue = "1", description = "Timed runs per part (default: ${DEFAULT-VALUE}).")
  int iterations;

  @Option(names = "--skip-vision", description = "Time only the language model.")
  boolean skipVision;

  @Mixin
  BenchSupport.Options common;

  @Override
  public Integer call() throws Exception {
    ChatBenchPreset shapes = PRESETS.stream().filter(p -> p.name().equals(preset)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown preset '" + preset + "' ("
            + PRESETS.stream().map(ChatBenchPreset::name).collect(Collectors.joining(", ")) + ")"));
    if (llmLayers < 1 || newTokens < 2 || promptTokens < 1 || iterations < 1) {
      throw new IllegalArgumentException(
          "need --llm-layers >= 1, --max-new-tokens >= 2, --prompt-tokens >= 1, --iterations >= 1");
    }
    List<Device> devices = BenchSupport.startEngine(common);
    ObjectNode root = BlipCliSupport.JSON.createObjectNode();
    root.put("preset", preset);
    root.put("stored_precision", shapes.storedPrecision());
    root.put("llm_layers", llmLayers);
    root.put("intra_op_threads", common.threadsLabel());
    ArrayNode results = root.putArray("results");
    for (Device device : devices) {
      DataType type = device.isGpu() && shapes.storedPrecision().equals("F16") ? DataType.FLOAT16 : DataType.FLOAT32;
      if (!skipVision) {
        benchVision(shapes, device, type, results);
      }
      benchLanguage(shapes, device, type, results);
    }
    if (common.json) {
      System.out.println(BlipCliSupport.JSON.writeValueAsString(root));
    }
    return 0;
  }

  private void benchVision(ChatBenchPreset shapes, Device device, DataType type, ArrayNode results) {
    try (NDManager manager = NDManager.newBaseManager(device);
        ChatBenchPreset.VisionPart vision = shapes.vision(manager, type, SEED)) {
      int size = vision.imageSize();
      double seconds = 0;
      long rows = 0;
      for (int i = 0; i <= iterations; i++) {
        try (NDManager call = manager.newSubManager()) {
          NDArray pixels = call.randomUniform(-2f, 2f, new Shape(1, 3, size, size)).toType(type, false);
          long start = System.nanoTime();
          NDArray encoded = vision.encode(pixels);
          encoded.toType(DataType.FLOAT32, false).sum().getFloat();
          rows = encoded.getShape().get(1);
          if (i > 0) {
            seconds += BenchSupport.seconds(start);
          }
        }
      }
      seconds /= iterations;
      System.out.printf(Locale.ROOT, "%-5s %s vision  %8.3f s/image  %7.3f images/s  (%d rows per image)%n",
          device, type, seconds, 1 / seconds, rows);
      ObjectNode r = results.addObject();
      r.put("device", device.toString());
      r.put("compute_precision", type.toString());
      r.put("part", "vision");
      r.put("seconds_per_image", seconds);
      r.put("images_per_s", 1 / seconds);
      r.put("rows_per_image", rows);
    }
  }

  private void benchLanguage(ChatBenchPreset shapes, Device device, DataType type, ArrayNode results) {
    try (NDManager manager = NDManager.newBaseManager(device);
        ChatBenchPreset.LanguagePart language = shapes.language(manager, type, llmLayers, SEED)) {
      int prefillTokens = language.imageTokens() + promptTokens;
      DecodeTiming timing = DecodeTiming.measure(manager, iterations, prefillTokens, 1, newTokens, call -> {
        NDArray embeds = call.randomNormal(0f, 1f, new Shape(1, prefillTokens, language.hiddenSize()), type);
        return tokens -> language.generate(embeds, tokens);
      });
      System.out.printf(Locale.ROOT, "%-5s %s llm %d layers  %s%n", device, type, llmLayers, timing.summary());
      ObjectNode r = results.addObject();
      r.put("device", device.toString());
      r.put("compute_precision", type.toString());
      r.put("part", "llm");
      r.put("llm_layers", llmLayers);
      timing.putInto(r);
    }
  }
}

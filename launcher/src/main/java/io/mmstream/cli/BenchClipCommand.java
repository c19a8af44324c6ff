package io.mmstream.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.model.clip.ClipConfig;
import io.mmstream.model.clip.ClipModel;
import io.mmstream.model.clip.ClipTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mmstream bench clip}: throughput of the image and text towers of a preset with random
 * weights, per batch size, on the CPU and on the GPU when the engine sees one. Also measures the
 * engine's large-matmul rate in the same run, the ceiling the towers' GFLOP/s compare with.
 */
@Command(
    name = "clip",
    mixinStandardHelpOptions = true,
    description = "Benchmark CLIP towers (random weights): images/s, texts/s and GFLOP/s per batch size.")
public final class BenchClipCommand implements Callable<Integer> {

  @Option(names = "--preset", defaultValue = "vit-b-32", description = "vit-b-32 or vit-l-14 (default ${DEFAULT-VALUE}).")
  String preset;

  @Option(names = "--batch", split = ",", defaultValue = "1,8,32", description = "Batch sizes (default ${DEFAULT-VALUE}).")
  List<Integer> batches;

  @Option(names = "--tower", split = ",", defaultValue = "image,text", description = "Towers to run (default ${DEFAULT-VALUE}).")
  List<String> towers;

  @Option(names = "--warmup", defaultValue = "2", description = "Untimed passes per point (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--min-iterations", defaultValue = "3", description = "Timed passes per point, at least (default ${DEFAULT-VALUE}).")
  int minIterations;

  @Option(names = "--min-seconds", defaultValue = "5", description = "Timed seconds per point, at least (default ${DEFAULT-VALUE}).")
  double minSeconds;

  @Option(names = "--matmul-size", defaultValue = "2048", description = "n of the n x n x n reference matmul; 0 skips it (default ${DEFAULT-VALUE}).")
  int matmulSize;

  @Option(names = "--json", description = "End with one JSON object line: {device, results: [{tower, batch, items_per_s, gflops}]}.")
  boolean json;

  private record Result(String device, String tower, int batch, double itemsPerSecond, double gflops) {}

  @Override
  public Integer call() throws IOException {
    ClipConfig config = ClipConfig.preset(preset);
    List<Device> devices = new ArrayList<>();
    devices.add(Device.cpu());
    if (Engine.getInstance().getGpuCount() > 0) {
      devices.add(Device.gpu());
    }
    double imageFlops = config.visionConfig().flopsPerImage(config.projectionDim());
    double textFlops = config.textConfig().flopsPerText(config.projectionDim());
    System.out.printf("CLIP %s, random weights; %.2f GFLOP per image, %.2f GFLOP per %d-token text; "
            + "engine threads %d (interop %d)%n",
        preset, imageFlops / 1e9, textFlops / 1e9, config.textConfig().maxPositionEmbeddings(),
        JniUtils.getNumThreads(), JniUtils.getNumInteropThreads());
    List<Result> results = new ArrayList<>();
    ObjectNode matmul = new ObjectMapper().createObjectNode();
    for (Device device : devices) {
      try (NDManager manager = NDManager.newBaseManager(device);
          ClipModel model = ClipModel.random(config, manager, 42)) {
        if (matmulSize > 0) {
          double rate = matmulGflops(manager);
          matmul.put(device.toString(), rate);
          System.out.printf("%-6s matmul %dx%dx%d: %.1f GFLOP/s%n", device, matmulSize, matmulSize, matmulSize, rate);
        }
        for (String tower : towers) {
          for (int batch : batches) {
            double perSecond = switch (tower) {
              case "image" -> imagesPerSecond(model, manager, batch);
              case "text" -> textsPerSecond(model, manager, batch);
              default -> throw new IllegalArgumentException("unknown tower '" + tower + "' (image, text)");
            };
            double gflops = perSecond * (tower.equals("image") ? imageFlops : textFlops) / 1e9;
            results.add(new Result(device.toString(), tower, batch, perSecond, gflops));
            System.out.printf("%-6s %-5s batch %3d: %8.2f %s/s  %7.1f GFLOP/s%n",
                device, tower, batch, perSecond, tower + "s", gflops);
          }
        }
      }
    }
    if (json) {
      System.out.println(toJson(results, matmul));
    }
    return 0;
  }

  private double imagesPerSecond(ClipModel model, NDManager manager, int batch) {
    int size = model.config().visionConfig().imageSize();
    try (NDManager scope = manager.newSubManager()) {
      NDArray pixels = scope.randomNormal(new Shape(batch, 3, size, size));
      return batch * passesPerSecond(() -> {
        try (NDArray features = model.encodeImage(pixels)) {
          features.toFloatArray();
        }
      });
    }
  }

  /** Texts that fill the whole context, the most work a text can be. */
  private double textsPerSecond(ClipModel model, NDManager manager, int batch) {
    int context = model.config().textConfig().maxPositionEmbeddings();
    Random random = new Random(7);
    long[][] ids = new long[batch][context];
    int[] eot = new int[batch];
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < context; i++) {
        ids[b][i] = random.nextInt(model.config().textConfig().vocabSize() - 2);
      }
      ids[b][context - 1] = model.config().textConfig().vocabSize() - 1;
      eot[b] = context - 1;
    }
    ClipTokenizer.Batch tokens = new ClipTokenizer.Batch(ids, eot);
    try (NDManager scope = manager.newSubManager()) {
      return batch * passesPerSecond(() -> {
        try (NDArray features = model.encodeText(tokens, scope)) {
          features.toFloatArray();
        }
      });
    }
  }

  private double matmulGflops(NDManager manager) {
    try (NDManager scope = manager.newSubManager()) {
      NDArray a = scope.randomNormal(new Shape(matmulSize, matmulSize));
      NDArray b = scope.randomNormal(new Shape(matmulSize, matmulSize));
      double perSecond = passesPerSecond(() -> {
        try (NDArray c = a.matMul(b)) {
          c.getFloat(0, 0);
        }
      });
      return perSecond * 2.0 * matmulSize * matmulSize * matmulSize / 1e9;
    }
  }

  /** Runs {@code pass} for the warm-up, then at least minIterations times and minSeconds. */
  private double passesPerSecond(Runnable pass) {
    for (int i = 0; i < warmup; i++) {
      pass.run();
    }
    long start = System.nanoTime();
    int passes = 0;
    while (passes < minIterations || System.nanoTime() - start < minSeconds * 1e9) {
      pass.run();
      passes++;
    }
    return passes / ((System.nanoTime() - start) / 1e9);
  }

  private String toJson(List<Result> results, ObjectNode matmul) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode out = mapper.createObjectNode();
    out.put("device", describeDevices(results));
    out.put("preset", preset);
    out.put("threads", JniUtils.getNumThreads());
    out.set("matmul_gflops", matmul);
    ArrayNode rows = out.putArray("results");
    for (Result r : results) {
      rows.addObject()
          .put("device", r.device())
          .put("tower", r.tower())
          .put("batch", r.batch())
          .put("items_per_s", r.itemsPerSecond())
          .put("gflops", r.gflops());
    }
    return mapper.writeValueAsString(out);
  }

  private static String describeDevices(List<Result> results) throws IOException {
    List<String> names = new ArrayList<>();
    for (Result r : results) {
      String name = r.device().startsWith("cpu") ? "cpu (" + cpuModel() + ")" : r.device();
      if (!names.contains(name)) {
        names.add(name);
      }
    }
    return String.join(" + ", names);
  }

  private static String cpuModel() throws IOException {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    if (Files.isReadable(cpuinfo)) {
      for (String line : Files.readAllLines(cpuinfo)) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
        }
      }
    }
    return System.getProperty("os.arch");
  }
}

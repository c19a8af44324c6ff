package io.mmstream.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options and set-up the model benchmarks share: intra-op threads, the devices to time on, timing. */
final class BenchSupport {
  /** Options every model benchmark takes; a picocli mixin. */
  static final class Options {
    @Option(names = "--threads", defaultValue = "0",
        description = "PyTorch intra-op threads; 0 keeps the engine's choice (one per core). On a busy shared machine 1 "
            + "avoids stalls at every parallel op's barrier.")
    int threads;

    @Option(names = "--json", description = "End with one JSON object.")
    boolean json;

    /** The {@code intra_op_threads} value a benchmark reports. */
    String threadsLabel() {
      return threads > 0 ? Integer.toString(threads) : "engine default";
    }
  }

  private BenchSupport() {}

  /**
   * Applies {@code --threads} and returns the CPU, then the GPU when there is one. Call before the first
   * NDManager: the engine reads the thread count once, when it starts.
   */
  static List<Device> startEngine(Options options) {
    if (options.threads > 0) {
      System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(options.threads));
    }
    List<Device> devices = new ArrayList<>(List.of(Device.cpu()));
    if (Engine.getInstance().getGpuCount() > 0) {
      devices.add(Device.gpu());
    }
    return devices;
  }

  static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }
}

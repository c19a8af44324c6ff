package io.mmstream.model.tensor;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How much memory a device has left for model weights, and the early check that a model fits.
 *
 * <p>Engine tensors live outside the JVM heap and are not bounded by the JVM's direct-memory limit,
 * so the limit is the device's: free GPU memory as DJL reports it, or the operating system's
 * available memory on CPU.
 */
public final class DeviceMemory {
  private static final Path MEMINFO = Path.of("/proc/meminfo");
  private static final double GIB = 1024.0 * 1024 * 1024;

  private DeviceMemory() {}

  /** Bytes still available on {@code device}. */
  public static long availableBytes(Device device) {
    if (device.isGpu()) {
      MemoryUsage usage = CudaUtils.getGpuMemory(device);
      return usage.getMax() - usage.getUsed();
    }
    return availableHostBytes();
  }

  /** Bytes in use on {@code device}: GPU memory as DJL reports it; on CPU this process's resident memory. */
  public static long usedBytes(Device device) {
    if (device.isGpu()) {
      return CudaUtils.getGpuMemory(device).getUsed();
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux: the JVM's own memory below.
    }
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }

  /**
   * Linux's MemAvailable (free memory plus reclaimable page cache); the JDK's free-memory figure
   * leaves the page cache out, which on a busy machine understates what a model can use.
   */
  private static long availableHostBytes() {
    try {
      for (String line : Files.readAllLines(MEMINFO)) {
        if (line.startsWith("MemAvailable:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux, or an unexpected format: the JDK's figure below.
    }
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getFreeMemorySize();
  }

  /**
   * Fails before anything is loaded when {@code neededBytes} exceed {@code availableBytes}.
   *
   * @param what the model, for the message
   */
  public static void requireFits(String what, long neededBytes, long availableBytes, Device device) {
    if (neededBytes > availableBytes) {
      throw new ModelTooLargeException(String.format(Locale.ROOT,
          "%s does not fit: its weights need %,d bytes (%.2f GiB) on %s, only %,d bytes (%.2f GiB) are available",
          what, neededBytes, neededBytes / GIB, device, availableBytes, availableBytes / GIB));
    }
  }

  /** A model whose weights need more memory than its device has left. */
  public static final class ModelTooLargeException extends RuntimeException {
    public ModelTooLargeException(String message) {
      super(message);
    }
  }
}

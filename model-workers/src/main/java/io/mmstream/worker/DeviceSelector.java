package io.mmstream.worker;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Picks the devices to run on (one executor each) from the setting and what DJL's engine finds. */
public final class DeviceSelector {
  private static final Logger LOG = LoggerFactory.getLogger(DeviceSelector.class);

  /** The chosen devices, and whether the model runs in float16. */
  public record Selection(List<Device> devices, boolean fp16) {
    /** Device names for tags and logs: cpu, gpu0, gpu1, ... */
    public List<String> names() {
      List<String> names = new ArrayList<>();
      for (Device device : devices) {
        names.add(device.isGpu() ? "gpu" + device.getDeviceId() : "cpu");
      }
      return names;
    }
  }

  private DeviceSelector() {}

  public static Selection select(WorkerSettings.DeviceChoice choice, boolean fp16) {
    Engine engine = Engine.getInstance();
    return select(choice, fp16, engine.getGpuCount(), engine.getEngineName() + " " + engine.getVersion());
  }

  static Selection select(WorkerSettings.DeviceChoice choice, boolean fp16, int gpuCount, String engine) {
    boolean useGpu =
        switch (choice) {
          case CPU -> false;
          case AUTO -> gpuCount > 0;
          case GPU -> {
            if (gpuCount == 0) {
              throw new IllegalStateException(WorkerSettings.DEVICE.key() + "=gpu but " + engine + " finds no GPU");
            }
            yield true;
          }
        };
    if (fp16 && !useGpu) {
      throw new IllegalStateException(WorkerSettings.FP16.key() + "=true needs a GPU; " + engine + " runs on the CPU here");
    }
    List<Device> devices = new ArrayList<>();
    if (useGpu) {
      for (int i = 0; i < gpuCount; i++) {
        devices.add(Device.gpu(i));
      }
    } else {
      devices.add(Device.cpu());
    }
    Selection selection = new Selection(devices, fp16);
    LOG.info(
        "device: {} ({} requested, {} finds {} GPU{}){}",
        String.join(",", selection.names()),
        choice.name().toLowerCase(java.util.Locale.ROOT),
        engine,
        gpuCount,
        gpuCount == 1 ? "" : "s",
        fp16 ? ", float16" : "");
    return selection;
  }
}

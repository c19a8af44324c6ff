package io.mmstream.worker;

import ai.djl.Device;
import io.mmstream.config.Settings;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Loads the model for a kind onto one device. Implementations (the CLIP, BLIP and chat adapters) register
 * through {@link ServiceLoader} ({@code META-INF/services/io.mmstream.worker.TaskModelFactory}).
 */
public interface TaskModelFactory {

  /** The kinds this factory can load. */
  Set<ModelKind> kinds();

  /**
   * A ready model on {@code device}; {@code fp16} is only ever true for GPU devices. {@code settings}
   * carries the model's own settings ({@link ModelSettings}).
   */
  WorkerModel<?, ?, ?> load(ModelKind kind, ModelSource source, Device device, boolean fp16, Settings settings);

  /** The registered factory for {@code kind}. */
  static TaskModelFactory forKind(ModelKind kind) {
    TaskModelFactory found = null;
    for (TaskModelFactory factory : ServiceLoader.load(TaskModelFactory.class)) {
      if (factory.kinds().contains(kind)) {
        if (found != null) {
          throw new IllegalStateException(
              "two model factories for " + kind.id() + ": " + found.getClass() + ", " + factory.getClass());
        }
        found = factory;
      }
    }
    if (found == null) {
      throw new IllegalStateException("no model implementation for kind " + kind.id() + " is on the classpath");
    }
    return found;
  }
}

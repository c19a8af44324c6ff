package io.mmstream.model.blip2;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.instructblip.InstructBlipForConditionalGeneration;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.DeviceMemory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalLong;

/** Opens the (possibly sharded) safetensors of a Q-Former model directory in the precision the device computes in. */
final class Blip2Checkpoint {
  /** Keys converted checkpoints may carry that hold no weights (position-id buffers). */
  static final String[] IGNORABLE_KEYS = {"qformer\\.embeddings\\.position_ids"};

  private Blip2Checkpoint() {}

  /**
   * On GPU the weights keep a uniform stored half precision; on CPU they are widened to float32 (BF16 included). Fails
   * before loading when they do not fit {@code memoryBudgetBytes} (empty: what the device has).
   */
  static CheckpointWeightStore open(Path modelDirectory, NDManager manager, OptionalLong memoryBudgetBytes)
      throws IOException {
    DataType computeType;
    try (CheckpointWeightStore probe = CheckpointWeightStore.open(modelDirectory, manager, DataType.FLOAT32, false)) {
      computeType = CheckpointWeightStore.computeType(manager.getDevice(), probe.storedDtypes());
    }
    CheckpointWeightStore store = CheckpointWeightStore.open(modelDirectory, manager, computeType, false);
    try {
      Device device = manager.getDevice();
      DeviceMemory.requireFits(modelDirectory.toString(), store.loadedBytes(),
          memoryBudgetBytes.orElseGet(() -> DeviceMemory.availableBytes(device)), device);
      return store;
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }
}

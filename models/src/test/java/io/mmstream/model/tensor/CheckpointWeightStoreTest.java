package io.mmstream.model.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CheckpointWeightStoreTest {
  private static final Path CLIP =
      Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "clip", "clip-tiny");

  @Test
  void loadsMappedTensorsAndNamesBadKeys() throws Exception {
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store = CheckpointWeightStore.open(CLIP, manager, DataType.FLOAT32, false)) {
      Weights w = new Weights(store);
      NDArray scale = w.get("logit_scale");
      assertThat(scale.getFloat()).isEqualTo(2.9592599868774414f);
      NDArray pos = w.sub("text_model").sub("embeddings").get("position_embedding.weight", 77, 32);
      assertThat(pos.getShape().dimension()).isEqualTo(2);
      assertThatThrownBy(() -> w.get("text_projection.weight", 32, 64))
          .isInstanceOf(WeightException.class)
          .hasMessageContaining("text_projection.weight")
          .hasMessageContaining("[32, 32]");
      assertThatThrownBy(() -> w.sub("vision_model").get("nope", 1))
          .hasMessageContaining("vision_model.nope");
      assertThatThrownBy(() -> store.requireAllUsed("logit_scale"))
          .hasMessageContaining("unexpected tensor(s)")
          .hasMessageContaining("vision_model.post_layernorm.weight");
      NDArray ids = w.get("text_model.embeddings.position_ids", 1, 77);
      assertThat(ids.getDataType()).isEqualTo(DataType.INT64);
      assertThat(ids.toLongArray()[76]).isEqualTo(76L);
    }
  }
}

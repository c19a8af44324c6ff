package io.mmstream.demo.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.tensor.CheckpointWeightStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CLIP's vision tower starts from the BLIP tower the captioner and VQA model trained. */
class ClipDemoTrainerTest {
  private static final long D = 96;
  private static final long PATCHES = 64;
  /** CLIP's one Adam step moves each weight by about its learning rate, 1e-7. */
  private static final float ONE_STEP = 1e-5f;

  @Test
  void everyVisionWeightStartsFromItsBlipCounterpart(@TempDir Path temp) throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    Path caption = temp.resolve("caption");
    // A large step moves BLIP's biases well off zero, so a misplaced bias shows.
    BlipDemoTrainer.train(caption, temp.resolve("vqa"), new TrainingPlan(1, 2, 1e-2f, 5), quiet);
    Path clip = temp.resolve("clip");
    ClipDemoTrainer.train(clip, new TrainingPlan(1, 2, 1e-7f, 5), Optional.of(caption), quiet);

    try (NDManager manager = NDManager.newBaseManager();
         CheckpointWeightStore blip = CheckpointWeightStore.open(caption, manager, DataType.FLOAT32, false);
         CheckpointWeightStore started = CheckpointWeightStore.open(clip, manager, DataType.FLOAT32, false)) {
      String e = "vision_model.embeddings.";
      assertClose(tensor(blip, e + "patch_embedding.weight", D, 3, 8, 8), tensor(started, e + "patch_embedding.weight", D, 3, 8, 8));
      assertClose(tensor(blip, e + "class_embedding", 1, 1, D).reshape(D), tensor(started, e + "class_embedding", D));
      NDArray positions = tensor(blip, e + "position_embedding", 1, PATCHES + 1, D).reshape(PATCHES + 1, D);
      NDArray clipPositions = tensor(started, e + "position_embedding.weight", PATCHES + 1, D);
      assertClose(positions.get("0:1"), clipPositions.get("0:1"));
      // CLIP's patch embedding has no bias; BLIP's is carried by the patch positions.
      assertClose(positions.get("1:").add(tensor(blip, e + "patch_embedding.bias", D)), clipPositions.get("1:"));
      assertClose(manager.ones(new ai.djl.ndarray.types.Shape(D)), tensor(started, "vision_model.pre_layrnorm.weight", D));
      assertClose(manager.zeros(new ai.djl.ndarray.types.Shape(D)), tensor(started, "vision_model.pre_layrnorm.bias", D));
      for (int i = 0; i < 3; i++) {
        String layer = "vision_model.encoder.layers." + i + ".";
        NDArray qkv = tensor(blip, layer + "self_attn.qkv.weight", 3 * D, D);
        NDArray qkvBias = tensor(blip, layer + "self_attn.qkv.bias", 3 * D);
        String[] order = {"q_proj", "k_proj", "v_proj"};
        for (int p = 0; p < 3; p++) {
          String rows = p * D + ":" + (p + 1) * D;
          assertClose(qkv.get(rows), tensor(started, layer + "self_attn." + order[p] + ".weight", D, D));
          assertClose(qkvBias.get(rows), tensor(started, layer + "self_attn." + order[p] + ".bias", D));
        }
        assertClose(tensor(blip, layer + "self_attn.projection.weight", D, D), tensor(started, layer + "self_attn.out_proj.weight", D, D));
        assertClose(tensor(blip, layer + "mlp.fc1.weight", 4 * D, D), tensor(started, layer + "mlp.fc1.weight", 4 * D, D));
        assertClose(tensor(blip, layer + "mlp.fc2.weight", D, 4 * D), tensor(started, layer + "mlp.fc2.weight", D, 4 * D));
        assertClose(tensor(blip, layer + "layer_norm2.bias", D), tensor(started, layer + "layer_norm2.bias", D));
      }
      assertClose(tensor(blip, "vision_model.post_layernorm.weight", D), tensor(started, "vision_model.post_layernorm.weight", D));
    }
  }

  private static NDArray tensor(CheckpointWeightStore store, String key, long... shape) {
    return store.load(key, shape).orElseThrow(() -> new AssertionError(store.describe() + " lacks " + key));
  }

  private static void assertClose(NDArray expected, NDArray actual) {
    float worst = expected.sub(actual).abs().max().getFloat();
    assertTrue(worst < ONE_STEP, "differs by " + worst);
  }
}

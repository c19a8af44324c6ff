package io.mmstream.model.clip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.mmstream.image.PixelImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every tensor of clip-tiny/golden.safetensors, within the tolerance golden.json gives it, for the
 * whole batch and image by image / text by text.
 */
class ClipModelParityTest {
  @TempDir static Path modelDir;
  private static ClipFixture fixture;
  private static NDManager manager;
  private static ClipModel model;
  private static ClipTokenizer tokenizer;
  private static final Set<String> compared = new HashSet<>();

  @BeforeAll
  static void load() throws Exception {
    fixture = ClipFixture.load();
    manager = NDManager.newBaseManager();
    ClipFixture.assembleModelDir(modelDir);
    model = ClipModel.load(modelDir, manager);
    tokenizer = ClipTokenizer.load(modelDir, model.config().textConfig().maxPositionEmbeddings());
  }

  @AfterAll
  static void close() {
    tokenizer.close();
    model.close();
    manager.close();
  }

  @Test
  void visionTowerMatchesEveryGoldenTensorInOneBatch() {
    try (NDManager scope = manager.newSubManager()) {
      NDArray pixels = goldenArray(scope, "pixel_values");
      ClipVisionTransformer.Output out = model.visionModel().forward(pixels, true);
      assertClose("vision_embeddings", out.embeddings(), null);
      assertThat(out.hiddenStates()).hasSize(model.config().visionConfig().numHiddenLayers() + 1);
      for (int i = 0; i < out.hiddenStates().size(); i++) {
        assertClose("vision_hidden_states." + i, out.hiddenStates().get(i), null);
      }
      assertClose("vision_pooled_output", out.pooled(), null);
      NDArray features = model.encodeImage(pixels);
      assertClose("image_features", features, null);
      assertClose("image_features_normalized", ClipModel.normalize(features), null);
    }
  }

  @Test
  void textTowerMatchesEveryGoldenTensorInOneBatch() {
    try (NDManager scope = manager.newSubManager()) {
      NDArray ids = goldenArray(scope, "input_ids");
      int[] eot = goldenEot();
      ClipTextTransformer.Output out = model.textModel().forward(ids, eot, true);
      double[] mask = fixture.tensor("attention_mask").values();
      assertThat(out.hiddenStates()).hasSize(model.config().textConfig().numHiddenLayers() + 1);
      for (int i = 0; i < out.hiddenStates().size(); i++) {
        assertClose("text_hidden_states." + i, out.hiddenStates().get(i), mask);
      }
      assertClose("text_last_hidden_state", out.lastHiddenState(), mask);
      assertClose("text_pooled_output", out.pooled(), null);
      NDArray features = model.encodeText(tokenizer.encode(fixture.texts()), scope);
      assertClose("text_features", features, null);
      assertClose("text_features_normalized", ClipModel.normalize(features), null);
    }
  }

  @Test
  void imageFilesAndTextsGiveTheGoldenLogits() throws Exception {
    try (NDManager scope = manager.newSubManager()) {
      ClipImagePreprocessor preprocessor = new ClipImagePreprocessor(model.config().visionConfig().imageSize());
      List<PixelImage> images = new ArrayList<>();
      for (String file : fixture.imageFiles()) {
        images.add(ClipImagePreprocessorTest.read(ClipFixture.IMAGES.resolve(file)));
      }
      NDArray imageFeatures = model.encodeImage(preprocessor.pixelValues(images, scope));
      NDArray textFeatures = model.encodeText(tokenizer.encode(fixture.texts()), scope);
      NDArray logits = model.logits(imageFeatures, textFeatures);
      assertClose("logits_per_image", logits, null);
      assertClose("logits_per_text", logits.transpose(), null);
      assertClose("logit_scale_exp", scope.create(model.logitScaleExp()), null);
    }
  }

  @Test
  void oneByOneEqualsTheGoldenAsTheBatchDoes() {
    try (NDManager scope = manager.newSubManager()) {
      NDArray pixels = goldenArray(scope, "pixel_values");
      NDList single = new NDList();
      for (int i = 0; i < pixels.getShape().get(0); i++) {
        single.add(model.encodeImage(pixels.get(i + ":" + (i + 1))));
      }
      assertClose("image_features", NDArrays.concat(single), null);
      List<String> texts = fixture.texts();
      NDList singleTexts = new NDList();
      for (String text : texts) {
        singleTexts.add(model.encodeText(tokenizer.encode(List.of(text)), scope));
      }
      assertClose("text_features", NDArrays.concat(singleTexts), null);
    }
  }

  @Test
  void forwardPassesLeaveNothingInTheModelOrCallerManagers() {
    try (NDManager scope = manager.newSubManager()) {
      NDArray pixels = goldenArray(scope, "pixel_values");
      ClipTokenizer.Batch tokens = tokenizer.encode(fixture.texts());
      model.encodeImage(pixels).close();
      model.encodeText(tokens, scope).close();
      // getManagedArrays counts sub-managers too: the model's weights and this scope included.
      int arrays = manager.getManagedArrays().size();
      int callerArrays = scope.getManagedArrays().size();
      model.encodeImage(pixels).close();
      model.encodeText(tokens, scope).close();
      model.logits(model.encodeImage(pixels), model.encodeText(tokens, scope)).close();
      assertThat(scope.getManagedArrays()).hasSize(callerArrays + 2);
      assertThat(manager.getManagedArrays()).hasSize(arrays + 2);
    }
  }

  @Test
  void everyGoldenTensorIsCompared() {
    visionTowerMatchesEveryGoldenTensorInOneBatch();
    textTowerMatchesEveryGoldenTensorInOneBatch();
    try {
      imageFilesAndTextsGiveTheGoldenLogits();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    Set<String> inputs = Set.of("pixel_values", "input_ids", "attention_mask", "eot_indices");
    for (String name : fixture.tensorNames()) {
      if (!inputs.contains(name)) {
        assertThat(compared).as("golden tensor compared").contains(name);
      }
    }
  }

  private static NDArray goldenArray(NDManager scope, String name) {
    ClipFixture.Tensor t = fixture.tensor(name);
    Shape shape = new Shape(t.shape());
    if (name.equals("input_ids")) {
      long[] ids = new long[t.values().length];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = (long) t.values()[i];
      }
      return scope.create(ids, shape);
    }
    float[] values = new float[t.values().length];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) t.values()[i];
    }
    return scope.create(values, shape);
  }

  private static int[] goldenEot() {
    double[] values = fixture.tensor("eot_indices").values();
    int[] eot = new int[values.length];
    for (int i = 0; i < eot.length; i++) {
      eot[i] = (int) values[i];
    }
    return eot;
  }

  /**
   * Max-abs comparison with golden.json's tolerance; with {@code tokenMask} (the golden
   * attention_mask, [B, T]) only positions up to each end-of-text token count.
   */
  private static void assertClose(String name, NDArray actual, double[] tokenMask) {
    ClipFixture.Tensor golden = fixture.tensor(name);
    assertThat(actual.getShape().getShape()).as(name + " shape").isEqualTo(golden.shape());
    float[] values = actual.toFloatArray();
    int width = golden.shape().length == 3 ? (int) golden.shape()[2] : 1;
    double max = 0;
    for (int i = 0; i < values.length; i++) {
      if (tokenMask != null && tokenMask[i / width] == 0) {
        continue;
      }
      max = Math.max(max, Math.abs(values[i] - golden.values()[i]));
    }
    System.out.printf("%s max abs diff %.3g (tolerance %.0g)%n", name, max, fixture.tolerance(name));
    assertThat(max).as(name + " max abs diff").isLessThanOrEqualTo(fixture.tolerance(name));
    compared.add(name);
  }
}

package io.mmstream.model.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.model.clip.SafetensorsTestFiles.Tensor;
import io.mmstream.model.tensor.WeightException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint layouts and dtypes, loader errors, and a config with shapes unlike clip-tiny's. */
class ClipModelLoadingTest {
  private static NDManager manager;
  private static ClipFixture fixture;
  private static Map<String, Tensor> tiny;
  private static float[][] tinyOutputs;
  @TempDir Path dir;

  @BeforeAll
  static void loadFixture() throws Exception {
    manager = NDManager.newBaseManager();
    fixture = ClipFixture.load();
    tiny = SafetensorsTestFiles.read(ClipFixture.TINY.resolve("model.safetensors"));
    tinyOutputs = outputs(ClipFixture.TINY);
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  @Test
  void positionIdsAreOptional() throws Exception {
    Map<String, Tensor> withoutIds = new LinkedHashMap<>(tiny);
    assertThat(withoutIds.remove("text_model.embeddings.position_ids")).isNotNull();
    assertThat(withoutIds.remove("vision_model.embeddings.position_ids")).isNotNull();
    assertThat(outputs(checkpoint(withoutIds))).isDeepEqualTo(tinyOutputs);
  }

  @Test
  void missingTensorIsNamed() throws Exception {
    Map<String, Tensor> tensors = new LinkedHashMap<>(tiny);
    tensors.remove("text_model.encoder.layers.1.mlp.fc2.bias");
    assertThatThrownBy(() -> ClipModel.load(checkpoint(tensors), manager))
        .isInstanceOf(WeightException.class)
        .hasMessageContaining("missing tensor 'text_model.encoder.layers.1.mlp.fc2.bias'");
  }

  @Test
  void misShapedTensorIsNamed() throws Exception {
    Map<String, Tensor> tensors = new LinkedHashMap<>(tiny);
    Tensor projection = tensors.get("visual_projection.weight");
    tensors.put("visual_projection.weight", new Tensor("F32", new long[] {64, 32}, projection.data()));
    assertThatThrownBy(() -> ClipModel.load(checkpoint(tensors), manager))
        .isInstanceOf(WeightException.class)
        .hasMessageContaining("'visual_projection.weight' has shape [64, 32], the config implies [32, 64]");
  }

  @Test
  void unexpectedTensorIsNamed() throws Exception {
    Map<String, Tensor> tensors = new LinkedHashMap<>(tiny);
    tensors.put("vision_model.encoder.layers.2.mlp.fc1.bias", Tensor.f32(new long[] {256}, new float[256]));
    assertThatThrownBy(() -> ClipModel.load(checkpoint(tensors), manager))
        .isInstanceOf(WeightException.class)
        .hasMessageContaining("unexpected tensor(s)")
        .hasMessageContaining("vision_model.encoder.layers.2.mlp.fc1.bias");
  }

  @Test
  void shardedCheckpointGivesTheSameOutputs() throws Exception {
    List<String> keys = new ArrayList<>(tiny.keySet());
    Map<String, Tensor> first = new LinkedHashMap<>();
    Map<String, Tensor> second = new LinkedHashMap<>();
    ObjectNode index = new ObjectMapper().createObjectNode();
    index.putObject("metadata").put("total_size", 0);
    ObjectNode weightMap = index.putObject("weight_map");
    for (int i = 0; i < keys.size(); i++) {
      String shard = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
      (i % 2 == 0 ? first : second).put(keys.get(i), tiny.get(keys.get(i)));
      weightMap.put(keys.get(i), shard);
    }
    Files.copy(ClipFixture.TINY.resolve("config.json"), dir.resolve("config.json"));
    SafetensorsTestFiles.write(dir.resolve("model-00001-of-00002.safetensors"), first);
    SafetensorsTestFiles.write(dir.resolve("model-00002-of-00002.safetensors"), second);
    new ObjectMapper().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    assertThat(outputs(dir)).isDeepEqualTo(tinyOutputs);
  }

  /**
   * F16 and BF16 checkpoints load to the same numbers as an F32 checkpoint holding the same rounded
   * values (so the conversion is exact), and stay near the F32 model's outputs.
   */
  @Test
  void halfPrecisionCheckpointsAreWidenedExactly() throws Exception {
    for (String dtype : List.of("F16", "BF16")) {
      Map<String, Tensor> stored = new LinkedHashMap<>();
      Map<String, Tensor> widened = new LinkedHashMap<>();
      for (Map.Entry<String, Tensor> e : tiny.entrySet()) {
        Tensor t = e.getValue();
        if (!t.dtype().equals("F32")) {
          stored.put(e.getKey(), t);
          widened.put(e.getKey(), t);
          continue;
        }
        float[] values = t.floats();
        byte[] half = dtype.equals("F16") ? toF16(values) : toBf16(values);
        stored.put(e.getKey(), new Tensor(dtype, t.shape(), half));
        widened.put(e.getKey(), Tensor.f32(t.shape(), dtype.equals("F16") ? fromF16(half) : fromBf16(half)));
      }
      float[][] fromHalf = outputs(checkpoint(stored));
      float[][] fromRounded = outputs(checkpoint(widened));
      assertThat(maxAbsDiff(fromHalf, fromRounded)).as(dtype + " vs rounded F32").isLessThanOrEqualTo(1e-6);
      double drift = maxAbsDiff(fromHalf, tinyOutputs);
      assertThat(drift).as(dtype + " vs F32").isGreaterThan(0).isLessThan(dtype.equals("F16") ? 5e-3 : 5e-2);
    }
  }

  /**
   * The held-back shape the project is checked against: image 64, patch 16, vision 48 wide with 3
   * layers and 3 heads, embed 24, text 48 wide with 3 layers and 2 heads.
   */
  @Test
  void aConfigUnlikeClipTinyLoadsAndRuns() throws Exception {
    writeConfigB(dir, 99);
    try (NDManager scope = manager.newSubManager();
        ClipModel model = ClipModel.load(dir, scope)) {
      assertThat(model.config().visionConfig().numPositions()).isEqualTo(17);
      NDArray pixels = scope.randomNormal(new Shape(3, 3, 64, 64));
      ClipVisionTransformer.Output vision = model.visionModel().forward(pixels, true);
      assertThat(vision.hiddenStates()).hasSize(4);
      assertThat(vision.hiddenStates().get(3).getShape()).isEqualTo(new Shape(3, 17, 48));
      NDArray images = model.encodeImage(pixels);
      assertThat(images.getShape()).isEqualTo(new Shape(3, 24));
      NDList oneByOne = new NDList();
      for (int i = 0; i < 3; i++) {
        oneByOne.add(model.encodeImage(pixels.get(i + ":" + (i + 1))));
      }
      assertThat(maxAbsDiff(NDArrays.concat(oneByOne), images)).isLessThan(1e-5);

      long[][] ids = {{49406, 320, 1125, 539, 320, 2368, 49407}, {49406, 49407, 0, 0, 0, 0, 0}};
      ClipTokenizer.Batch batch = new ClipTokenizer.Batch(padTo77(ids), new int[] {6, 1});
      ClipTextTransformer.Output text = model.textModel().forward(batch.toInputIds(scope, 77), batch.eotIndices(), true);
      assertThat(text.hiddenStates()).hasSize(4);
      assertThat(text.lastHiddenState().getShape()).isEqualTo(new Shape(2, 77, 48));
      NDArray texts = model.encodeText(batch, scope);
      assertThat(texts.getShape()).isEqualTo(new Shape(2, 24));
      assertThat(model.logits(images, texts).getShape()).isEqualTo(new Shape(3, 2));
    }
  }

  /** Writes config B with N(0, 0.02) weights (LayerNorm weights 1) under HF's key names. */
  static void writeConfigB(Path target, long seed) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode config = json.createObjectNode();
    config.put("model_type", "clip").put("projection_dim", 24);
    config.putObject("text_config").put("hidden_size", 48).put("intermediate_size", 192)
        .put("num_hidden_layers", 3).put("num_attention_heads", 2).put("max_position_embeddings", 77)
        .put("vocab_size", 49408).put("hidden_act", "quick_gelu");
    config.putObject("vision_config").put("hidden_size", 48).put("intermediate_size", 192)
        .put("num_hidden_layers", 3).put("num_attention_heads", 3).put("image_size", 64)
        .put("patch_size", 16).put("hidden_act", "quick_gelu");
    json.writeValue(target.resolve("config.json").toFile(), config);

    Random random = new Random(seed);
    Map<String, Tensor> t = new LinkedHashMap<>();
    t.put("logit_scale", Tensor.f32(new long[0], new float[] {2.6592f}));
    t.put("text_projection.weight", normal(random, new long[] {24, 48}));
    t.put("visual_projection.weight", normal(random, new long[] {24, 48}));
    t.put("text_model.embeddings.token_embedding.weight", normal(random, new long[] {49408, 48}));
    t.put("text_model.embeddings.position_embedding.weight", normal(random, new long[] {77, 48}));
    t.put("text_model.embeddings.position_ids", Tensor.i64(new long[] {1, 77}, range(77)));
    t.put("text_model.final_layer_norm.weight", ones(48));
    t.put("text_model.final_layer_norm.bias", normal(random, new long[] {48}));
    t.put("vision_model.embeddings.patch_embedding.weight", normal(random, new long[] {48, 3, 16, 16}));
    t.put("vision_model.embeddings.class_embedding", normal(random, new long[] {48}));
    t.put("vision_model.embeddings.position_embedding.weight", normal(random, new long[] {17, 48}));
    t.put("vision_model.embeddings.position_ids", Tensor.i64(new long[] {1, 17}, range(17)));
    for (String ln : List.of("vision_model.pre_layrnorm", "vision_model.post_layernorm")) {
      t.put(ln + ".weight", ones(48));
      t.put(ln + ".bias", normal(random, new long[] {48}));
    }
    for (String tower : List.of("text_model", "vision_model")) {
      for (int i = 0; i < 3; i++) {
        String p = tower + ".encoder.layers." + i + ".";
        for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
          t.put(p + "self_attn." + proj + ".weight", normal(random, new long[] {48, 48}));
          t.put(p + "self_attn." + proj + ".bias", normal(random, new long[] {48}));
        }
        t.put(p + "mlp.fc1.weight", normal(random, new long[] {192, 48}));
        t.put(p + "mlp.fc1.bias", normal(random, new long[] {192}));
        t.put(p + "mlp.fc2.weight", normal(random, new long[] {48, 192}));
        t.put(p + "mlp.fc2.bias", normal(random, new long[] {48}));
        for (String ln : List.of("layer_norm1", "layer_norm2")) {
          t.put(p + ln + ".weight", ones(48));
          t.put(p + ln + ".bias", normal(random, new long[] {48}));
        }
      }
    }
    assertThat(t).hasSize(112);
    SafetensorsTestFiles.write(target.resolve("model.safetensors"), t);
  }

  private static Tensor normal(Random random, long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] values = new float[(int) n];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (0.02 * random.nextGaussian());
    }
    return Tensor.f32(shape, values);
  }

  private static Tensor ones(int n) {
    float[] values = new float[n];
    java.util.Arrays.fill(values, 1f);
    return Tensor.f32(new long[] {n}, values);
  }

  private static long[] range(int n) {
    long[] values = new long[n];
    for (int i = 0; i < n; i++) {
      values[i] = i;
    }
    return values;
  }

  private static long[][] padTo77(long[][] ids) {
    long[][] rows = new long[ids.length][77];
    for (int b = 0; b < ids.length; b++) {
      System.arraycopy(ids[b], 0, rows[b], 0, ids[b].length);
    }
    return rows;
  }

  /** A clip-tiny model directory holding {@code tensors} as its checkpoint. */
  private Path checkpoint(Map<String, Tensor> tensors) throws IOException {
    Path model = Files.createTempDirectory(dir, "model");
    Files.copy(ClipFixture.TINY.resolve("config.json"), model.resolve("config.json"));
    SafetensorsTestFiles.write(model.resolve("model.safetensors"), tensors);
    return model;
  }

  /** Image features of the golden pixel_values and text features of the golden input_ids. */
  private static float[][] outputs(Path modelDir) throws Exception {
    try (NDManager scope = manager.newSubManager();
        ClipModel model = ClipModel.load(modelDir, scope)) {
      ClipFixture.Tensor pixels = fixture.tensor("pixel_values");
      float[] pixelValues = new float[pixels.values().length];
      for (int i = 0; i < pixelValues.length; i++) {
        pixelValues[i] = (float) pixels.values()[i];
      }
      ClipFixture.Tensor ids = fixture.tensor("input_ids");
      long[][] rows = new long[ids.rows()][ids.rowLength()];
      for (int i = 0; i < ids.values().length; i++) {
        rows[i / ids.rowLength()][i % ids.rowLength()] = (long) ids.values()[i];
      }
      int[] eot = new int[rows.length];
      for (int b = 0; b < eot.length; b++) {
        eot[b] = (int) fixture.tensor("eot_indices").values()[b];
      }
      NDArray images = model.encodeImage(scope.create(pixelValues, new Shape(pixels.shape())));
      NDArray texts = model.encodeText(new ClipTokenizer.Batch(rows, eot), scope);
      return new float[][] {images.toFloatArray(), texts.toFloatArray()};
    }
  }

  private static double maxAbsDiff(float[][] a, float[][] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[i].length; j++) {
        max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
      }
    }
    return max;
  }

  private static double maxAbsDiff(NDArray a, NDArray b) {
    return maxAbsDiff(new float[][] {a.toFloatArray()}, new float[][] {b.toFloatArray()});
  }

  /** IEEE half, rounded to nearest even by the engine (Float.floatToFloat16 is Java 20+). */
  private static byte[] toF16(float[] values) {
    try (NDArray f = manager.create(values); NDArray h = f.toType(DataType.FLOAT16, false)) {
      byte[] bytes = new byte[values.length * 2];
      h.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN).get(bytes);
      return bytes;
    }
  }

  private static float[] fromF16(byte[] half) {
    ByteBuffer b = ByteBuffer.allocateDirect(half.length).order(ByteOrder.LITTLE_ENDIAN).put(half).flip();
    try (NDArray h = manager.create(b, new Shape(half.length / 2), DataType.FLOAT16);
        NDArray f = h.toType(DataType.FLOAT32, false)) {
      return f.toFloatArray();
    }
  }

  /** bfloat16 = the high half of the float bits, rounded to nearest even. */
  private static byte[] toBf16(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float value : values) {
      int bits = Float.floatToRawIntBits(value);
      b.putShort((short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16));
    }
    return b.array();
  }

  private static float[] fromBf16(byte[] half) {
    ByteBuffer b = ByteBuffer.wrap(half).order(ByteOrder.LITTLE_ENDIAN);
    float[] values = new float[half.length / 2];
    for (int i = 0; i < values.length; i++) {
      values[i] = Float.intBitsToFloat((b.getShort() & 0xFFFF) << 16);
    }
    return values;
  }
}

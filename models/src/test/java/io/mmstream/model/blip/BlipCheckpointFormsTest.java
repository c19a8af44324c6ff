package io.mmstream.model.blip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.tensor.SafetensorsFile;
import io.mmstream.model.tensor.SafetensorsWriter;
import io.mmstream.model.tensor.WeightException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint forms a BLIP loader meets, rewritten from the caption fixture into temporary directories. */
class BlipCheckpointFormsTest {
  private static final String HEAD = "text_decoder.cls.predictions.";
  private static final String WORDS = "text_decoder.bert.embeddings.word_embeddings.weight";
  private static BlipFixture fixture;
  private static NDManager manager;

  @TempDir Path temp;

  @BeforeAll
  static void open() throws IOException {
    fixture = BlipFixture.caption();
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void close() throws IOException {
    manager.close();
    fixture.close();
  }

  @Test
  void publishedFormWithTiedCopiesAndPositionIdsGivesTheSameLogits() throws Exception {
    Path dir = rewrite((name, e) -> true, writer -> {
      writer.add(HEAD + "decoder.weight", "F32", shapeOf(WORDS), raw(WORDS));
      writer.add(HEAD + "decoder.bias", "F32", shapeOf(HEAD + "bias"), raw(HEAD + "bias"));
      ByteBuffer positions = ByteBuffer.allocate(64 * 8).order(ByteOrder.LITTLE_ENDIAN);
      for (long i = 0; i < 64; i++) {
        positions.putLong(i);
      }
      writer.add("text_decoder.bert.embeddings.position_ids", "I64", new long[] {1, 64}, positions.flip());
    });
    assertPromptLogitsMatchGolden(dir);
  }

  @Test
  void decoderBiasAloneStandsInForTheHeadBias() throws Exception {
    Path dir = rewrite((name, e) -> !name.equals(HEAD + "bias"),
        writer -> writer.add(HEAD + "decoder.bias", "F32", shapeOf(HEAD + "bias"), raw(HEAD + "bias")));
    assertPromptLogitsMatchGolden(dir);
  }

  @Test
  void shardedCheckpointGivesTheSameLogits() throws Exception {
    Path dir = copyAuxiliaryFiles();
    SafetensorsWriter vision = new SafetensorsWriter();
    SafetensorsWriter text = new SafetensorsWriter();
    StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
    try (SafetensorsFile source = SafetensorsFile.open(fixture.dir.resolve("model.safetensors"))) {
      boolean first = true;
      for (SafetensorsFile.Entry e : source.entries().values()) {
        boolean isVision = e.name().startsWith("vision_model.");
        (isVision ? vision : text).add(e.name(), e.dtype(), e.shape(), source.map(e));
        index.append(first ? "" : ",").append('"').append(e.name()).append("\":\"")
            .append(isVision ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors").append('"');
        first = false;
      }
    }
    vision.write(dir.resolve("model-00001-of-00002.safetensors"));
    text.write(dir.resolve("model-00002-of-00002.safetensors"));
    Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}"));
    assertPromptLogitsMatchGolden(dir);
  }

  @Test
  void halfPrecisionCheckpointsLoadAndStayCloseToFloat32() throws Exception {
    for (String dtype : List.of("F16", "BF16")) {
      Path dir = copyAuxiliaryFiles();
      SafetensorsWriter writer = new SafetensorsWriter();
      try (SafetensorsFile source = SafetensorsFile.open(fixture.dir.resolve("model.safetensors"))) {
        for (SafetensorsFile.Entry e : source.entries().values()) {
          writer.add(e.name(), dtype, e.shape(), narrow(source.map(e), dtype));
        }
      }
      writer.write(dir.resolve("model.safetensors"));
      try (NDManager call = manager.newSubManager();
          BlipForConditionalGeneration model = BlipForConditionalGeneration.load(dir, call)) {
        float[] logits = promptLogits(model, call);
        // Weights rounded to 11 (F16) or 8 (BF16) significant bits move logits of size ~0.5 by far
        // less than this, while a mis-read tensor would move them by O(1).
        BlipFixture.assertClose(dtype + " prompt logits", logits, fixture.floats("caption.prompt_logits"),
            dtype.equals("F16") ? 2e-3 : 2e-2);
      }
    }
  }

  @Test
  void missingMisShapedAndUnexpectedTensorsAreNamed() throws Exception {
    String missing = "text_decoder.bert.encoder.layer.1.output.dense.bias";
    Path dir = rewrite((name, e) -> !name.equals(missing), writer -> {});
    assertThatThrownBy(() -> BlipForConditionalGeneration.load(dir, manager))
        .isInstanceOf(WeightException.class)
        .hasMessageContaining(missing);

    String reshaped = "vision_model.encoder.layers.0.self_attn.qkv.weight";
    Path bad = rewrite((name, e) -> !name.equals(reshaped),
        writer -> writer.add(reshaped, "F32", new long[] {64, 192}, raw(reshaped)));
    assertThatThrownBy(() -> BlipForConditionalGeneration.load(bad, manager))
        .isInstanceOf(WeightException.class)
        .hasMessageContaining(reshaped)
        .hasMessageContaining("[64, 192]")
        .hasMessageContaining("[192, 64]");

    Path noBias = rewrite((name, e) -> !name.equals(HEAD + "bias"), writer -> {});
    assertThatThrownBy(() -> BlipForConditionalGeneration.load(noBias, manager))
        .hasMessageContaining(HEAD + "bias");

    Path extra = rewrite((name, e) -> true,
        writer -> writer.add("text_decoder.bert.pooler.dense.bias", "F32", shapeOf(HEAD + "transform.dense.bias"),
            raw(HEAD + "transform.dense.bias")));
    assertThatThrownBy(() -> BlipForConditionalGeneration.load(extra, manager))
        .hasMessageContaining("unexpected")
        .hasMessageContaining("text_decoder.bert.pooler.dense.bias");
  }

  @Test
  void aVqaCheckpointIsNotMistakenForACaptioningOne() {
    assertThatThrownBy(() -> BlipForConditionalGeneration.load(BlipFixture.ROOT.resolve("blip-tiny-vqa"), manager))
        .hasMessageContaining("BlipForQuestionAnswering");
  }

  private void assertPromptLogitsMatchGolden(Path dir) throws IOException {
    try (NDManager call = manager.newSubManager();
        BlipForConditionalGeneration model = BlipForConditionalGeneration.load(dir, call)) {
      fixture.assertClose("caption.prompt_logits", promptLogits(model, call), fixture.atol("caption.prompt_logits"));
    }
  }

  private static float[] promptLogits(BlipForConditionalGeneration model, NDManager call) {
    NDArray pixels = call.create(fixture.floats("inputs.pixel_values"), new Shape(fixture.shape("inputs.pixel_values")));
    long[] prompt = fixture.longs("caption.prompt_ids");
    NDArray ids = call.create(new long[][] {prompt, prompt, prompt, prompt});
    return model.logits(model.encodeImages(pixels), ids).toFloatArray();
  }

  private interface Additions {
    void add(SafetensorsWriter writer) throws IOException;
  }

  /** The fixture's tensors that {@code keep} accepts, plus {@code additions}, in a new model directory. */
  private Path rewrite(BiPredicate<String, SafetensorsFile.Entry> keep, Additions additions) throws IOException {
    Path dir = copyAuxiliaryFiles();
    SafetensorsWriter writer = new SafetensorsWriter();
    try (SafetensorsFile source = SafetensorsFile.open(fixture.dir.resolve("model.safetensors"))) {
      for (SafetensorsFile.Entry e : source.entries().values()) {
        if (keep.test(e.name(), e)) {
          writer.add(e.name(), e.dtype(), e.shape(), source.map(e));
        }
      }
    }
    additions.add(writer);
    writer.write(dir.resolve("model.safetensors"));
    return dir;
  }

  private Path copyAuxiliaryFiles() throws IOException {
    Path dir = Files.createTempDirectory(temp, "blip");
    Files.copy(fixture.dir.resolve("config.json"), dir.resolve("config.json"));
    return dir;
  }

  private static long[] shapeOf(String name) throws IOException {
    try (SafetensorsFile source = SafetensorsFile.open(fixture.dir.resolve("model.safetensors"))) {
      return source.entries().get(name).shape();
    }
  }

  private static ByteBuffer raw(String name) throws IOException {
    try (SafetensorsFile source = SafetensorsFile.open(fixture.dir.resolve("model.safetensors"))) {
      ByteBuffer mapped = source.map(source.entries().get(name));
      ByteBuffer copy = ByteBuffer.allocate(mapped.remaining());
      copy.put(mapped);
      return copy.flip();
    }
  }

  /** F32 little-endian bytes to F16 (the engine's rounding) or BF16 (truncated) bytes. */
  private static ByteBuffer narrow(ByteBuffer f32, String dtype) {
    ByteBuffer in = f32.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    float[] values = new float[in.remaining() / 4];
    in.asFloatBuffer().get(values);
    ByteBuffer out = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    if (dtype.equals("F16")) {
      try (NDManager scratch = manager.newSubManager()) {
        ByteBuffer half = scratch.create(values).toType(DataType.FLOAT16, false).toByteBuffer();
        while (half.hasRemaining()) {
          out.putShort(half.getShort());
        }
      }
    } else {
      for (float v : values) {
        out.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
      }
    }
    return out.flip();
  }


}

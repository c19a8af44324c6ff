package io.mmstream.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.image.PixelImage;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.DeviceMemory;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.RecordingWeightStore;
import io.mmstream.model.tensor.SafetensorsFile;
import io.mmstream.model.tensor.SafetensorsWriter;
import io.mmstream.model.tensor.WeightException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint forms and shapes beyond the fixture's: another config (cross-attention every 2nd
 * layer, 6 queries, 3 layers per part, grouped key/value heads) saved and loaded back, shards,
 * half precision, keys that carry no weights, and the early out-of-memory check.
 */
class InstructBlipCheckpointTest {
  private static final String OTHER_SIZES = """
      {"model_type": "instructblip", "num_query_tokens": 6,
       "vision_config": {"hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 3,
         "num_attention_heads": 2, "image_size": 28, "patch_size": 14, "layer_norm_eps": 1e-6},
       "qformer_config": {"vocab_size": 30523, "hidden_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2,
         "intermediate_size": 24, "max_position_embeddings": 32, "cross_attention_frequency": 2,
         "encoder_hidden_size": 24},
       "text_config": {"model_type": "llama", "vocab_size": 512, "hidden_size": 16, "intermediate_size": 40,
         "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
         "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}}""";

  @TempDir Path temp;
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void otherSizesFollowTheConfig() throws Exception {
    Path dir = Files.createDirectory(temp.resolve("other"));
    Files.writeString(dir.resolve("config.json"), OTHER_SIZES);
    copyTokenizers(dir);
    Files.writeString(dir.resolve("preprocessor_config.json"), "{\"size\": {\"height\": 28, \"width\": 28}}");
    InstructBlipConfig config = InstructBlipConfig.load(dir);
    RecordingWeightStore recorded = new RecordingWeightStore(new RandomWeightStore(manager, DataType.FLOAT32, 7, 0.2f));
    try (InstructBlipForConditionalGeneration original =
        InstructBlipForConditionalGeneration.fromStore(config, recorded, InstructBlipOptions.defaults())) {
      assertThat(recorded.loaded.keySet().stream().filter(k -> k.contains("crossattention.attention.key.weight")))
          .containsExactly("qformer.encoder.layer.0.crossattention.attention.key.weight",
              "qformer.encoder.layer.2.crossattention.attention.key.weight");
      assertThat(recorded.loaded.get("qformer.encoder.layer.2.crossattention.attention.key.weight").getShape().getShape())
          .containsExactly(16, 24);
      assertThat(recorded.loaded.get("language_model.model.layers.2.self_attn.k_proj.weight").getShape().getShape())
          .containsExactly(8, 16);
      SafetensorsWriter writer = recorded.writer();
      // Buffers that HF checkpoints may carry: accepted and ignored.
      writer.add("language_model.model.layers.0.self_attn.rotary_emb.inv_freq", manager.ones(new Shape(2)));
      writer.add("qformer.embeddings.position_ids", manager.arange(0, 32, 1, DataType.INT64).reshape(1, 32));
      writer.write(dir.resolve("model.safetensors"));

      try (InstructBlipAnswerer loaded = InstructBlipAnswerer.load(dir, manager, InstructBlipOptions.defaults());
          NDManager call = manager.newSubManager()) {
        List<PixelImage> images = fixtureImages().subList(1, 3);
        NDArray pixels = loaded.processor().images().pixelValues(images, call);
        NDArray states = loaded.model().encodeImages(pixels);
        assertThat(states.getShape().getShape()).containsExactly(2, 5, 24);
        assertThat(states.toFloatArray()).containsExactly(original.encodeImages(pixels).toFloatArray());
        List<String> instructions = List.of("what is in the picture?", "is there a circle?");
        TokenBatch q = loaded.processor().qformerInputs(instructions);
        NDArray qStates = loaded.model().qformerStates(states, q.idsArray(call), q.maskArray(call));
        assertThat(qStates.getShape().getShape()).containsExactly(2, 6 + 8, 16);
        NDArray prefix = loaded.model().visualPrefix(states, q.idsArray(call), q.maskArray(call));
        assertThat(prefix.getShape().getShape()).containsExactly(2, 6, 16);
        assertThat(prefix.toFloatArray())
            .containsExactly(original.visualPrefix(states, q.idsArray(call), q.maskArray(call)).toFloatArray());

        List<InstructRequest> requests = List.of(
            new InstructRequest(images.get(0), instructions.get(0)),
            new InstructRequest(images.get(1), instructions.get(1)));
        InstructGeneration beams = new InstructGeneration(7, 2, 3, 1.5f, 1f, true, false);
        for (InstructGeneration settings : List.of(InstructGeneration.greedy(7), beams)) {
          List<InstructAnswer> cached = loaded.answer(requests, settings);
          List<InstructAnswer> uncached = loaded.answer(requests, settings.withKvCache(false));
          for (int i = 0; i < requests.size(); i++) {
            assertThat(cached.get(i).ids()).containsExactly(uncached.get(i).ids());
            assertThat(cached.get(i).ids()).hasSizeBetween(settings.minNewTokens() + 1, 7);
            assertThat(cached.get(i).ids())
                .containsExactly(loaded.answer(List.of(requests.get(i)), settings).get(0).ids());
          }
        }
        double[] yes = loaded.yesProbabilities(requests);
        assertThat(yes).hasSize(2);
        for (double p : yes) {
          assertThat(p).isStrictlyBetween(0.0, 1.0);
        }
      }
    }
  }

  @Test
  void shardedCheckpointLoadsAndHalfPrecisionIsWidenedOnCpu() throws Exception {
    Path sharded = Files.createDirectory(temp.resolve("sharded"));
    Path bf16 = Files.createDirectory(temp.resolve("bf16"));
    for (Path dir : List.of(sharded, bf16)) {
      copyTokenizers(dir);
      Files.copy(InstructBlipFixture.DIR.resolve("config.json"), dir.resolve("config.json"));
      Files.copy(InstructBlipFixture.DIR.resolve("preprocessor_config.json"), dir.resolve("preprocessor_config.json"));
    }
    try (SafetensorsFile source = SafetensorsFile.open(InstructBlipFixture.DIR.resolve("model.safetensors"))) {
      SafetensorsWriter first = new SafetensorsWriter();
      SafetensorsWriter second = new SafetensorsWriter();
      SafetensorsWriter half = new SafetensorsWriter();
      StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
      for (SafetensorsFile.Entry e : source.entries().values()) {
        boolean llm = e.name().startsWith("language_model.");
        (llm ? second : first).add(e.name(), e.dtype(), e.shape(), source.map(e));
        half.add(e.name(), "BF16", e.shape(), toBf16(source.map(e)));
        index.append(index.charAt(index.length() - 1) == '{' ? "" : ", ").append('"').append(e.name())
            .append("\": \"").append(llm ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors")
            .append('"');
      }
      first.write(sharded.resolve("model-00001-of-00002.safetensors"));
      second.write(sharded.resolve("model-00002-of-00002.safetensors"));
      Files.writeString(sharded.resolve(CheckpointWeightStore.INDEX_FILE), index.append("}}").toString());
      half.write(bf16.resolve("model.safetensors"));
    }
    try (InstructBlipFixture fixture = new InstructBlipFixture()) {
      PixelImage image = fixtureImages().get(0);
      InstructGeneration greedy = InstructGeneration.greedy(8).withRecordLogits(true);
      float[] reference;
      try (InstructBlipAnswerer a = InstructBlipAnswerer.load(sharded, manager, InstructBlipOptions.defaults())) {
        InstructAnswer answer = a.answer(image, List.of(fixture.instruction(0)), greedy).get(0);
        assertThat(answer.ids()).containsExactly(fixture.ids("llm.i0.greedy_new_ids"));
        reference = answer.stepLogits()[0];
      }
      try (InstructBlipAnswerer a = InstructBlipAnswerer.load(bf16, manager, InstructBlipOptions.defaults())) {
        assertThat(a.model().computeType()).isEqualTo(DataType.FLOAT32);
        float[] widened = a.answer(image, List.of(fixture.instruction(0)), greedy).get(0).stepLogits()[0];
        float worst = 0;
        for (int v = 0; v < reference.length; v++) {
          worst = Math.max(worst, Math.abs(widened[v] - reference[v]));
        }
        // bfloat16 keeps 8 mantissa bits: logits move, but stay close to the float32 ones.
        assertThat(worst).isGreaterThan(0f).isLessThan(0.05f);
      }
    }
  }

  @Test
  void eachRowStopsAtItsEndOfSequenceToken() throws Exception {
    // The fixture's greedy answers to instructions 0 and 1 both continue with id 171 second; with 171
    // as the end-of-sequence id those rows stop there while the others run to the limit.
    Path dir = Files.createDirectory(temp.resolve("eos"));
    try (Stream<Path> files = Files.list(InstructBlipFixture.DIR)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Files.createSymbolicLink(dir.resolve(f.getFileName()), f);
      }
    }
    Files.createSymbolicLink(dir.resolve("qformer_tokenizer"), InstructBlipFixture.DIR.resolve("qformer_tokenizer"));
    Files.delete(dir.resolve("config.json"));
    Files.writeString(dir.resolve("config.json"), Files.readString(InstructBlipFixture.DIR.resolve("config.json"))
        .replace("\"eos_token_id\": 2", "\"eos_token_id\": 171"));
    List<PixelImage> images = fixtureImages();
    try (InstructBlipFixture fixture = new InstructBlipFixture();
        InstructBlipAnswerer a = InstructBlipAnswerer.load(dir, manager, InstructBlipOptions.defaults())) {
      List<InstructRequest> requests = new ArrayList<>();
      for (int i = 0; i < fixture.count(); i++) {
        requests.add(new InstructRequest(images.get(i), fixture.instruction(i)));
      }
      List<InstructAnswer> answers = a.answer(requests, InstructGeneration.greedy(8));
      assertThat(answers.get(0).ids()).containsExactly(361, 171);
      assertThat(answers.get(1).ids()).containsExactly(361, 171);
      assertThat(answers.get(2).ids()).containsExactly(fixture.ids("llm.i2.greedy_new_ids"));
      assertThat(answers.get(3).ids()).containsExactly(fixture.ids("llm.i3.greedy_new_ids"));
      // A minimum length forbids the stop token until it is reached.
      InstructGeneration atLeastFour = new InstructGeneration(8, 4, 1, 1f, 1f, true, false);
      assertThat(a.answer(requests.subList(0, 1), atLeastFour).get(0).ids()).hasSizeGreaterThanOrEqualTo(4);
    }
  }

  @Test
  void unexpectedKeysAreNamed() throws Exception {
    Path dir = Files.createDirectory(temp.resolve("extra"));
    try (Stream<Path> files = Files.list(InstructBlipFixture.DIR)) {
      List<Path> nonWeights = files.filter(Files::isRegularFile)
          .filter(f -> !f.getFileName().toString().startsWith("model")).toList();
      for (Path f : nonWeights) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    try (SafetensorsFile source = SafetensorsFile.open(InstructBlipFixture.DIR.resolve("model.safetensors"))) {
      SafetensorsWriter writer = new SafetensorsWriter();
      for (SafetensorsFile.Entry e : source.entries().values()) {
        writer.add(e.name(), e.dtype(), e.shape(), source.map(e));
      }
      writer.add("language_model.model.layers.0.self_attn.q_proj.bias", manager.zeros(new Shape(32)));
      writer.write(dir.resolve("model.safetensors"));
    }
    assertThatThrownBy(() -> InstructBlipForConditionalGeneration.load(dir, manager, InstructBlipOptions.defaults()))
        .isInstanceOf(WeightException.class)
        .hasMessageContaining("language_model.model.layers.0.self_attn.q_proj.bias");
  }

  @Test
  void modelThatCannotFitFailsBeforeLoadingAndStatesTheBytes() {
    assertThatThrownBy(() -> InstructBlipForConditionalGeneration.load(
            InstructBlipFixture.DIR, manager, InstructBlipOptions.defaults().withMemoryBudget(1_000_000)))
        .isInstanceOf(DeviceMemory.ModelTooLargeException.class)
        .hasMessageContaining("4,653,384 bytes")
        .hasMessageContaining("1,000,000 bytes");
  }

  private static void copyTokenizers(Path dir) throws IOException {
    Files.copy(InstructBlipFixture.DIR.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
    Path q = Files.createDirectory(dir.resolve(InstructBlipProcessor.QFORMER_TOKENIZER_DIR));
    Files.copy(InstructBlipFixture.DIR.resolve("qformer_tokenizer").resolve("tokenizer.json"), q.resolve("tokenizer.json"));
  }

  private static List<PixelImage> fixtureImages() throws IOException {
    List<PixelImage> images = new ArrayList<>();
    try (InstructBlipFixture fixture = new InstructBlipFixture()) {
      for (int i = 0; i < fixture.count(); i++) {
        images.add(PixelImage.from(ImageIO.read(fixture.image(i).toFile())));
      }
    }
    return images;
  }

  /** float32 little-endian to bfloat16 (the high half of each value, truncated). */
  private static ByteBuffer toBf16(ByteBuffer f32) {
    ByteBuffer in = f32.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer out = ByteBuffer.allocate(in.remaining() / 2).order(ByteOrder.LITTLE_ENDIAN);
    while (in.hasRemaining()) {
      out.putShort((short) (in.getInt() >>> 16));
    }
    return out.flip();
  }
}

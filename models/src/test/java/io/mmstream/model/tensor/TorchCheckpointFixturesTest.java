package io.mmstream.model.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The restricted unpickler on checkpoints written by torch itself (the chat-model fixtures), checked
 * against independent copies of the same values: MiniGPT-4's safetensors export, and the golden
 * {@code inputs_embeds} rows that are plain word-embedding lookups.
 */
class TorchCheckpointFixturesTest {
  private static final Path FIXTURES = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));
  private static final Path MINIGPT4 = FIXTURES.resolve("minigpt4/minigpt4-tiny");
  private static final Path VISUALGLM = FIXTURES.resolve("visualglm/visualglm-tiny");
  private static final Path QWEN_VL = FIXTURES.resolve("qwen-vl/qwen-vl-tiny");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void miniGpt4PthFilesEqualTheirSafetensorsExport() throws Exception {
    List<CheckpointWeightStore.Part> parts =
        List.of(
            new CheckpointWeightStore.Part(MINIGPT4.resolve("eva_vit_g.pth"), "visual_encoder."),
            CheckpointWeightStore.Part.of(MINIGPT4.resolve("blip2_pretrained_flant5xxl.pth")),
            CheckpointWeightStore.Part.of(MINIGPT4.resolve("prerained_minigpt4_7b.pth")),
            new CheckpointWeightStore.Part(MINIGPT4.resolve("vicuna"), "llama_model."));
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore pth = CheckpointWeightStore.open(parts, manager, DataType.FLOAT32, false);
        SafetensorsFile export = SafetensorsFile.open(MINIGPT4.resolve("minigpt4_all_weights.safetensors"));
        CheckpointWeightStore exported =
            CheckpointWeightStore.open(
                List.of(CheckpointWeightStore.Part.of(export.path())), manager, DataType.FLOAT32, false)) {
      int compared = 0;
      for (TensorFile.Info info : export.tensors().values()) {
        assertThat(pth.contains(info.name())).as(info.name()).isTrue();
        NDArray fromPickle = pth.load(info.name(), info.shape()).orElseThrow();
        NDArray expected = exported.load(info.name(), info.shape()).orElseThrow();
        // the export stores the I64 position_ids as F32
        assertThat(fromPickle.toType(DataType.FLOAT32, false).toFloatArray())
            .as(info.name())
            .containsExactly(expected.toFloatArray());
        compared++;
      }
      assertThat(compared).isEqualTo(export.tensors().size()).isGreaterThan(100);
      assertThat(pth.unusedKeys().isEmpty()).as("every .pth tensor is in the export").isTrue();
    }
    try (TorchCheckpointFile blip2 = TorchCheckpointFile.open(MINIGPT4.resolve("blip2_pretrained_flant5xxl.pth"));
        TorchCheckpointFile vit = TorchCheckpointFile.open(MINIGPT4.resolve("eva_vit_g.pth"))) {
      assertThat(blip2.stateDictKey()).contains("model");
      assertThat(vit.stateDictKey()).isEmpty();
      assertThat(blip2.tensors().get("Qformer.bert.embeddings.position_ids").dtype()).isEqualTo("I64");
    }
  }

  @Test
  void visualGlmShardsLoadFloat16AndFloat32AsTheIndexDescribes() throws Exception {
    JsonNode index = JSON.readTree(VISUALGLM.resolve(CheckpointWeightStore.TORCH_INDEX_FILE).toFile());
    Set<String> indexed = new TreeSet<>();
    index.get("weight_map").fieldNames().forEachRemaining(indexed::add);
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store = CheckpointWeightStore.open(VISUALGLM, manager, DataType.FLOAT32, false)) {
      long storedBytes = 0;
      Set<String> keys = new TreeSet<>();
      for (Path shard : CheckpointWeightStore.modelFiles(VISUALGLM)) {
        try (TorchCheckpointFile file = TorchCheckpointFile.open(shard)) {
          for (TensorFile.Info info : file.tensors().values()) {
            keys.add(info.name());
            storedBytes += info.elementCount() * DTypes.byteWidth(info.dtype(), shard);
            assertThat(info.dtype()).as(info.name()).isEqualTo(info.name().startsWith("image_encoder.") ? "F32" : "F16");
          }
        }
      }
      assertThat(keys).isEqualTo(indexed);
      assertThat(storedBytes).isEqualTo(index.get("metadata").get("total_size").asLong());
      assertThat(store.storedDtypes()).containsExactly("F16", "F32");

      NDArray embeddings = store.load("transformer.word_embeddings.weight", null).orElseThrow();
      assertThat(embeddings.getDataType()).isEqualTo(DataType.FLOAT32);
      JsonNode c0 = JSON.readTree(VISUALGLM.resolve("golden.json").toFile()).get("cases").get(0);
      List<Long> ids = longs(c0.get("prompt_ids"));
      int imageStart = c0.get("image_embeds_replace_positions").get(0).asInt();
      int imageEnd = c0.get("image_embeds_replace_positions").get(1).asInt();
      assertLookupRowsMatchGolden(
          VISUALGLM, manager, embeddings, ids, imageStart, imageEnd, "cases.c0.inputs_embeds");
    }
  }

  @Test
  void qwenVlShardsGiveTheGoldenTokenEmbeddings() throws Exception {
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store = CheckpointWeightStore.open(QWEN_VL, manager, DataType.FLOAT32, false)) {
      JsonNode golden = JSON.readTree(QWEN_VL.resolve("golden.json").toFile());
      JsonNode c0 = golden.get("cases").get(0);
      JsonNode idsNode = c0.get("prompt_ids").isTextual() ? JSON.readTree(c0.get("prompt_ids").asText()) : c0.get("prompt_ids");
      JsonNode rows = c0.get("image_spans").get(0).get("rows");
      NDArray wte = store.load("transformer.wte.weight", null).orElseThrow();
      assertLookupRowsMatchGolden(
          QWEN_VL, manager, wte, longs(idsNode), rows.get(0).asInt(), rows.get(1).asInt(), "cases.c0.inputs_embeds");
      assertThat(store.storedDtypes()).containsExactly("F32");
    }
  }

  /** Rows outside [imageStart, imageEnd) of the golden inputs_embeds are embedding rows of the prompt ids. */
  private static void assertLookupRowsMatchGolden(
      Path dir, NDManager manager, NDArray embeddings, List<Long> ids, int imageStart, int imageEnd, String name)
      throws Exception {
    try (SafetensorsFile golden = SafetensorsFile.open(dir.resolve("golden.safetensors"));
        CheckpointWeightStore goldens =
            CheckpointWeightStore.open(
                List.of(CheckpointWeightStore.Part.of(golden.path())), manager, DataType.FLOAT32, false)) {
      NDArray expected = goldens.load(name, null).orElseThrow();
      assertThat(expected.getShape().get(0)).isEqualTo(ids.size());
      int checked = 0;
      for (int row = 0; row < ids.size(); row++) {
        if (row >= imageStart && row < imageEnd) {
          continue;
        }
        float[] actual = embeddings.get(ids.get(row)).toFloatArray();
        assertThat(actual).as("row %d (id %d)", row, ids.get(row)).containsExactly(expected.get(row).toFloatArray());
        checked++;
      }
      assertThat(checked).isGreaterThan(10);
    }
  }

  private static List<Long> longs(JsonNode array) {
    List<Long> out = new ArrayList<>();
    for (Iterator<JsonNode> it = array.elements(); it.hasNext(); ) {
      out.add(it.next().asLong());
    }
    return out;
  }
}

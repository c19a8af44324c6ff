package io.mmstream.model.minigpt4;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.WeightStore;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.llama.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MiniGpt4TowersParityTest {
  private static NDManager manager;
  private static MiniGpt4Fixture fixture;
  private static MiniGpt4Model model;
  private static List<PixelImage> images;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new MiniGpt4Fixture();
    Path tmp = Files.createTempDirectory("mg4");
    Files.createSymbolicLink(tmp.resolve("model.safetensors"),
        Path.of("/work/shared/fixtures/minigpt4/minigpt4-tiny/minigpt4_all_weights.safetensors"));
    WeightStore store = CheckpointWeightStore.open(tmp, manager, DataType.FLOAT32, false);
    MiniGpt4Files files = MiniGpt4Files.locate(MiniGpt4Fixture.DIR);
    LlamaConfig text = LlamaConfig.fromJson(new ObjectMapper().readTree(files.vicuna().resolve("config.json").toFile()));
    model = MiniGpt4Model.fromStore(MiniGpt4Config.infer(store, files, text), store);
    images = new ArrayList<>();
    for (String name : fixture.imageNames()) {
      images.add(PixelImage.from(ImageIO.read(fixture.image("images/" + name + ".png").toFile())));
    }
  }

  @AfterAll
  static void close() throws IOException {
    model.close();
    fixture.close();
    manager.close();
  }

  @Test
  void towers() throws IOException {
    try (NDManager m = manager.newSubManager()) {
      NDArray px = BlipImagePreprocessor.forVision(model.config().vision()).pixelValues(images, m);
      fixture.assertMatches(px, "inputs.pixel_values");
      fixture.assertMatches(model.queryEncoder().vision().encode(model.queryEncoder().vision().embed(px)), "vision.encoder_output");
      NDArray states = model.encodeImages(px);
      fixture.assertMatches(states, "vision.last_hidden_state");
      NDArray q = model.qformerStates(states);
      fixture.assertMatches(q, "qformer.last_hidden_state");
      fixture.assertMatches(model.project(q), "llama_proj.output");
      NDArray rows = model.encodeImage(px);
      for (JsonNode c : fixture.cases()) {
        String name = c.get("name").asText();
        NDArray seg0 = m.create(MiniGpt4Fixture.longs(c.get("prompt_segment_ids").get(0)));
        NDArray seg1 = m.create(MiniGpt4Fixture.longs(c.get("prompt_segment_ids").get(1)));
        NDArray img = rows.get(new NDIndex("{}", c.get("image_index").asInt()));
        var lm = model.languageModel();
        NDArray embeds = NDArrays.concat(new NDList(lm.embed(seg0), img, lm.embed(seg1))).expandDims(0);
        fixture.assertMatches(embeds.get(0), "cases." + name + ".inputs_embeds");
        NDArray pos = m.arange(0, (int) embeds.getShape().get(1), 1, DataType.INT64).expandDims(0);
        NDArray hidden = lm.hiddenStates(embeds, null, pos, null);
        fixture.assertMatches(hidden.get(0), "cases." + name + ".final_norm_hidden_state");
        fixture.assertMatches(lm.logits(hidden).get(0), "cases." + name + ".logits");
        var cfg = new io.mmstream.model.generation.GenerationConfig(8, 1, 1, 1f, 1f, 2, 0);
        try (var dec = new io.mmstream.model.llama.LlamaPrefixDecoder(lm, embeds,
            m.ones(new ai.djl.ndarray.types.Shape(1, embeds.getShape().get(1)), DataType.INT64), true)) {
          var res = io.mmstream.model.generation.SequenceGenerator.generate(dec, new long[1][0], cfg, true,
              List.of(new long[] {273}, new long[] {269, 357}));
          org.assertj.core.api.Assertions.assertThat(res.sequences()[0]).as(name)
              .containsExactly(MiniGpt4Fixture.longs(c.get("greedy_new_ids")));
          fixture.assertMatches(m.create(res.stepLogits()[0]), "cases." + name + ".step_logits");
        }
      }
    }
  }
}

package io.mmstream.model.llama;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.instructblip.InstructBlipFixture;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.Weights;
import org.junit.jupiter.api.Test;

/** The fixture's LLaMA part against Meta's LLaMA-1 code: teacher-forced states and logits from the goldens' inputs. */
class LlamaForCausalLMTest {

  @Test
  void teacherForcedLogitsMatchMetaLlama() throws Exception {
    LlamaConfig config = LlamaConfig.fromJson(
        new ObjectMapper().readTree(InstructBlipFixture.DIR.resolve("config.json").toFile()).get("text_config"));
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store =
            CheckpointWeightStore.open(InstructBlipFixture.DIR, manager, DataType.FLOAT32, false);
        InstructBlipFixture fixture = new InstructBlipFixture()) {
      LlamaForCausalLM llm = LlamaForCausalLM.load(new Weights(store).sub("language_model"), config);
      for (int i = 0; i < fixture.count(); i++) {
        NDArray embeds = fixture.tensor(manager, "llm.i" + i + ".inputs_embeds").expandDims(0);
        long n = embeds.getShape().get(1);
        NDArray positions = manager.arange(0, (int) n, 1, DataType.INT64).reshape(1, n);
        NDArray hidden = llm.hiddenStates(embeds, null, positions, null);
        fixture.assertMatches(hidden.squeeze(0), "llm.i" + i + ".final_norm_hidden_state");
        fixture.assertMatches(llm.logits(hidden).squeeze(0), "llm.i" + i + ".logits");
      }
    }
  }

  @Test
  void promptIdsEmbedLikeTheGoldenInputs() throws Exception {
    LlamaConfig config = LlamaConfig.fromJson(
        new ObjectMapper().readTree(InstructBlipFixture.DIR.resolve("config.json").toFile()).get("text_config"));
    try (NDManager manager = NDManager.newBaseManager();
        CheckpointWeightStore store =
            CheckpointWeightStore.open(InstructBlipFixture.DIR, manager, DataType.FLOAT32, false);
        InstructBlipFixture fixture = new InstructBlipFixture()) {
      LlamaForCausalLM llm = LlamaForCausalLM.load(new Weights(store).sub("language_model"), config);
      NDArray prompt = manager.create(fixture.ids("llm.i0.prompt_ids"));
      NDArray golden = fixture.tensor(manager, "llm.i0.inputs_embeds");
      long queries = golden.getShape().get(0) - prompt.size();
      assertThat(llm.embed(prompt).sub(golden.get(queries + ":")).abs().max().getFloat()).isEqualTo(0f);
    }
  }
}

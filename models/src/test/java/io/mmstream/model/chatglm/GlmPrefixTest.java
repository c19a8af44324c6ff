package io.mmstream.model.chatglm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.visualglm.VisualGlmConfig;
import io.mmstream.model.visualglm.VisualGlmFixture;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Positions, the prefix mask and the rotary frequencies against the original's tensors for every case. */
class GlmPrefixTest {

  @Test
  void positionsAndMaskMatchTheOriginal() throws IOException {
    ChatGlmConfig config = VisualGlmConfig.load(VisualGlmFixture.DIR).glm();
    try (VisualGlmFixture fixture = new VisualGlmFixture(); NDManager manager = NDManager.newBaseManager()) {
      int checked = 0;
      for (JsonNode c : fixture.cases()) {
        String key = "cases." + c.get("name").asText();
        if (!fixture.json().get("tensors").has(key + ".position_ids")) {
          continue;
        }
        long[] ids = VisualGlmFixture.longs(c.get("prompt_ids"));
        GlmPrefix prefix = GlmPrefix.of(ids, config);
        assertThat(prefix.contextLength()).isEqualTo(c.get("context_length").asInt());
        assertThat(prefix.maskPosition()).isEqualTo(c.get("mask_position").asInt());
        long[] golden = fixture.tensor(manager, key + ".position_ids").toLongArray();
        long[][] positions = prefix.positionIds(ids.length);
        long[] flat = new long[2 * ids.length];
        System.arraycopy(positions[0], 0, flat, 0, ids.length);
        System.arraycopy(positions[1], 0, flat, ids.length, ids.length);
        assertThat(flat).as(key).isEqualTo(golden);
        byte[] mask = fixture.tensor(manager, key + ".attention_mask").toByteArray();
        boolean[][] masked = prefix.maskedOut(ids.length);
        for (int i = 0; i < ids.length; i++) {
          for (int j = 0; j < ids.length; j++) {
            assertThat(masked[i][j]).as(key + " mask " + i + "," + j).isEqualTo(mask[i * ids.length + j] == 1);
          }
        }
        checked++;
      }
      assertThat(checked).isEqualTo(5);
    }
  }

  @Test
  void promptWithoutSopIsRefused() throws IOException {
    ChatGlmConfig config = VisualGlmConfig.load(VisualGlmFixture.DIR).glm();
    assertThatThrownBy(() -> GlmPrefix.of(new long[] {85, config.gmaskTokenId()}, config))
        .hasMessageContaining("<sop>");
  }

  @Test
  void rotaryFrequenciesAreRoundedToHalfAsTheOriginal() throws IOException {
    ChatGlmConfig config = VisualGlmConfig.load(VisualGlmFixture.DIR).glm();
    try (VisualGlmFixture fixture = new VisualGlmFixture(); NDManager manager = NDManager.newBaseManager()) {
      JsonNode used = fixture.json().get("rotary").get("inv_freq_used");
      float[] ours = ChatGlmModel.inverseFrequencies(manager, config);
      assertThat(ours).hasSize(used.size());
      for (int i = 0; i < ours.length; i++) {
        assertThat(ours[i]).isEqualTo((float) used.get(i).asDouble());
      }
    }
  }
}

package io.mmstream.model.clip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTokenizerTest {
  private static ClipFixture fixture;

  @BeforeAll
  static void loadFixture() throws Exception {
    fixture = ClipFixture.load();
  }

  @Test
  void vocabAndMergesGiveOpenaiIdsForTheGoldenTexts(@TempDir Path dir) throws Exception {
    try (ClipTokenizer tokenizer = ClipTokenizer.load(ClipFixture.assembleModelDir(dir), 77)) {
      assertGoldenTexts(tokenizer);
    }
  }

  @Test
  void vocabAndMergesGiveOpenaiIdsForTheExtraCases(@TempDir Path dir) throws Exception {
    try (ClipTokenizer tokenizer = ClipTokenizer.load(ClipFixture.assembleModelDir(dir), 77)) {
      assertExtraCases(tokenizer);
    }
  }

  @Test
  void tokenizerJsonIsPreferredAndGivesTheSameIds(@TempDir Path dir) throws Exception {
    // A tokenizer.json as HF's CLIP converter writes it, next to deliberately broken vocab/merges.
    Path source = Files.createDirectory(dir.resolve("source"));
    Path model = Files.createDirectory(dir.resolve("model"));
    Files.writeString(
        model.resolve(ClipTokenizer.TOKENIZER_JSON),
        new ObjectMapper().writeValueAsString(ClipTokenizer.tokenizerJson(
            ClipFixture.assembleModelDir(source).resolve("vocab.json"), source.resolve("merges.txt"))));
    Files.writeString(model.resolve("vocab.json"), "[]");
    Files.writeString(model.resolve("merges.txt"), "#version: 0.2\n");
    try (ClipTokenizer tokenizer = ClipTokenizer.load(model, 77)) {
      assertGoldenTexts(tokenizer);
      assertExtraCases(tokenizer);
    }
  }

  @Test
  void longTextKeepsEndOfTextInTheLastPosition(@TempDir Path dir) throws Exception {
    try (ClipTokenizer tokenizer = ClipTokenizer.load(ClipFixture.assembleModelDir(dir), 77)) {
      ClipTokenizer.Batch batch = tokenizer.encode(List.of("word ".repeat(200), ""));
      assertThat(batch.ids()[0]).hasSize(77);
      assertThat(batch.ids()[0][76]).isEqualTo(49407L);
      assertThat(batch.eotIndices()).containsExactly(76, 1);
      assertThat(batch.longestLength()).isEqualTo(77);
    }
  }

  private static void assertGoldenTexts(ClipTokenizer tokenizer) {
    ClipTokenizer.Batch batch = tokenizer.encode(fixture.texts());
    ClipFixture.Tensor ids = fixture.tensor("input_ids");
    ClipFixture.Tensor mask = fixture.tensor("attention_mask");
    ClipFixture.Tensor eot = fixture.tensor("eot_indices");
    for (int b = 0; b < batch.size(); b++) {
      long[] expected = new long[77];
      long[] expectedMask = new long[77];
      for (int i = 0; i < 77; i++) {
        expected[i] = (long) ids.values()[b * 77 + i];
        expectedMask[i] = (long) mask.values()[b * 77 + i];
      }
      assertThat(batch.ids()[b]).as("text %d: %s", b, fixture.texts().get(b)).containsExactly(expected);
      assertThat(batch.attentionMask()[b]).as("mask %d", b).containsExactly(expectedMask);
      assertThat(batch.eotIndices()[b]).as("eot %d", b).isEqualTo((int) eot.values()[b]);
    }
  }

  private static void assertExtraCases(ClipTokenizer tokenizer) throws Exception {
    JsonNode cases =
        new ObjectMapper().readTree(ClipFixture.TOKENIZER.resolve("tokenizer_cases.json").toFile()).get("cases");
    assertThat(cases.size()).isEqualTo(10);
    for (JsonNode c : cases) {
      String text = c.get("text").asText();
      List<Long> expected = new ArrayList<>();
      c.get("clip_tokenize_77").forEach(id -> expected.add(id.asLong()));
      long[] row = tokenizer.encode(List.of(text)).ids()[0];
      List<Long> actual = new ArrayList<>();
      for (int i = 0; i < expected.size(); i++) {
        actual.add(row[i]);
      }
      assertThat(actual).as(text).isEqualTo(expected);
      for (int i = expected.size(); i < row.length; i++) {
        assertThat(row[i]).as("padding of %s", text).isZero();
      }
    }
  }
}

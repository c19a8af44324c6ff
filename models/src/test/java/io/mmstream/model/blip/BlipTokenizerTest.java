package io.mmstream.model.blip;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlipTokenizerTest {
  private static final List<String> TEXTS = List.of(
      "a picture of ", "", "what color is the circle?", "how many shapes are there?", "is this a photo of a cat?",
      "red", "blue", "green", "yes", "no", "2", "3", "Café naïve RÉSUMÉ", "東京 tower", "tab\tand\u00a0nbsp",
      "literal [DEC] and [ENC] and [SEP]", "pneumonoultramicroscopicsilicovolcanoconiosis!!!");

  @TempDir Path temp;

  @Test
  void vocabOnlyDirectoryTokenizesLikeTokenizerJson() throws Exception {
    Path fixture = BlipFixture.ROOT.resolve("blip-tiny-caption");
    Files.copy(fixture.resolve("vocab.txt"), temp.resolve("vocab.txt"));
    BlipTextConfig text = BlipConfig.load(fixture).text();
    try (BlipTokenizer fromJson = BlipTokenizer.open(fixture, text);
        BlipTokenizer fromVocab = BlipTokenizer.open(temp, text)) {
      assertThat(fromVocab.encId()).isEqualTo(30523).isEqualTo(fromJson.encId());
      for (String s : TEXTS) {
        long[] ids = fromJson.encode(s);
        assertThat(fromVocab.encode(s)).as(s).containsExactly(ids);
        assertThat(fromVocab.decode(ids)).as(s).isEqualTo(fromJson.decode(ids));
      }
      assertThat(fromJson.encode("literal [DEC] and [ENC]")).contains(30522L, 30523L);
    }
  }

  @Test
  void questionsAreTruncatedToTheOriginalsLimitAndKeepTheirSep() throws Exception {
    Path fixture = BlipFixture.ROOT.resolve("blip-tiny-vqa");
    try (BlipTokenizer tokenizer = BlipTokenizer.open(fixture, BlipConfig.load(fixture).text())) {
      String longQuestion = "is there " + "a very ".repeat(30) + "big cat?";
      BlipTokenizer.Batch batch = tokenizer.questions(List.of(longQuestion, "why?"));
      assertThat(batch.ids()[0]).hasSize(BlipTokenizer.QUESTION_MAX_LENGTH).startsWith(30523L).endsWith(102L);
      assertThat(batch.ids()[1]).startsWith(30523L, 2339L, 1029L, 102L, 0L);
      assertThat(batch.mask()[1]).startsWith(1L, 1L, 1L, 1L, 0L);
    }
  }
}

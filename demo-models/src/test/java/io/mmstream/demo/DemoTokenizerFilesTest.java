package io.mmstream.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mmstream.model.blip.BlipTextConfig;
import io.mmstream.model.clip.ClipTokenizer;
import io.mmstream.model.blip.BlipTokenizer;
import io.mmstream.model.nn.Activation;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoTokenizerFilesTest {

  @Test
  void everyDemoWordIsOneClipTokenAndOtherTextStillTokenizes(@TempDir Path dir) throws Exception {
    int vocabSize = DemoTokenizerFiles.writeClip(dir);
    try (ClipTokenizer tokenizer = ClipTokenizer.load(dir, 24)) {
      Set<Long> ids = new HashSet<>();
      for (String word : DemoVocabulary.words()) {
        long[] encoded = tokenizer.encodeWithoutSpecialTokens(word);
        assertEquals(1, encoded.length, word + " -> " + encoded.length + " tokens");
        ids.add(encoded[0]);
      }
      assertEquals(DemoVocabulary.words().size(), ids.size(), "distinct words get distinct tokens");
      // Bytes stay in the alphabet: unseen words split into pieces instead of vanishing.
      assertTrue(tokenizer.encodeWithoutSpecialTokens("zebra!").length >= 2);
      ClipTokenizer.Batch batch = tokenizer.encode(java.util.List.of("a picture of a red star."));
      assertEquals(vocabSize - 2, batch.ids()[0][0], "start of text is the second-to-last id");
      assertEquals(vocabSize - 1, batch.ids()[0][batch.eotIndices()[0]], "end of text is the last id");
      assertEquals(8, batch.eotIndices()[0], "SOT a picture of a red star . EOT");
    }
  }

  @Test
  void blipVocabularyHoldsEveryWordAndTheDecoderTokens(@TempDir Path dir) throws Exception {
    DemoTokenizerFiles.BertVocabulary vocabulary = DemoTokenizerFiles.writeBert(dir);
    BlipTextConfig text = new BlipTextConfig(vocabulary.vocabSize(), 32, 32, 64, 1, 4, 40, Activation.GELU, 1e-12,
        vocabulary.decId(), vocabulary.padId(), vocabulary.sepId());
    try (BlipTokenizer tokenizer = BlipTokenizer.open(dir, text)) {
      for (String word : DemoVocabulary.words()) {
        long[] ids = tokenizer.encode(word);
        assertEquals(3, ids.length, word + " is one WordPiece between [CLS] and [SEP]");
        assertEquals(word, tokenizer.decode(ids));
      }
      assertEquals(vocabulary.decId(), tokenizer.decId());
      assertEquals(vocabulary.decId() + 1, tokenizer.encId());
      long[] question = tokenizer.questions(java.util.List.of("what color is the star?")).ids()[0];
      assertEquals(tokenizer.encId(), question[0]);
      assertEquals(vocabulary.sepId(), question[question.length - 1]);
      assertArrayEquals(new long[] {vocabulary.decId()}, tokenizer.captionPrompt(""));
    }
  }
}

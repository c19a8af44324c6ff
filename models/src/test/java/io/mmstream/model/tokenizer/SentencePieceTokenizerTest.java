package io.mmstream.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tokenizer.SentencePieceModel.ModelType;
import io.mmstream.model.tokenizer.SentencePieceModel.PieceType;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The sentencepiece reader against the originals: the fixtures' golden prompt ids (LLaVA through
 * HF's slow LlamaTokenizer, MiniGPT-4 per segment, VisualGLM through ChatGLM's substitutions) and
 * the ids / decoded text Google's sentencepiece gives on CJK, emoji and whitespace
 * ({@code sentencepiece_reference.json}, written by {@code make_reference.py} beside it).
 */
class SentencePieceTokenizerTest {
  private static final Path FIXTURES = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));
  private static final Path LLAVA = FIXTURES.resolve("llava/llava-tiny");
  private static final Path MINIGPT4 = FIXTURES.resolve("minigpt4/minigpt4-tiny");
  private static final Path VISUALGLM = FIXTURES.resolve("visualglm/visualglm-tiny");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int LLAVA_IMAGE_MARKER = -200;

  @Test
  void readsTheModelProto() throws Exception {
    SentencePieceTokenizer llama = SentencePieceTokenizer.load(LLAVA.resolve("tokenizer.model"));
    assertThat(llama.model().modelType()).isEqualTo(ModelType.BPE);
    assertThat(llama.model().byteFallback()).isTrue();
    assertThat(llama.model().addDummyPrefix()).isTrue();
    assertThat(llama.model().removeExtraWhitespaces()).isFalse();
    assertThat(llama.pieceCount()).isEqualTo(512);
    assertThat(llama.idToPiece(13)).isEqualTo("<0x0A>");
    assertThat(llama.type(13)).isEqualTo(PieceType.BYTE);
    assertThat(llama.type(0)).isEqualTo(PieceType.UNKNOWN);
    assertThat(llama.type(1)).isEqualTo(PieceType.CONTROL);
    assertThat(new int[] {llama.unkId(), llama.bosId(), llama.eosId(), llama.padId()}).containsExactly(0, 1, 2, -1);
    assertThat(llama.pieceToId("</s>")).isEqualTo(2);
    assertThat(llama.pieceToId("no such piece")).isEqualTo(llama.unkId());

    SentencePieceTokenizer ice = SentencePieceTokenizer.load(VISUALGLM.resolve("ice_text.model"));
    assertThat(ice.model().modelType()).isEqualTo(ModelType.UNIGRAM);
    assertThat(ice.pieceCount()).isEqualTo(368);
    assertThat(ice.idToPiece(4)).isEqualTo("<n>");
    assertThat(ice.type(4)).isEqualTo(PieceType.USER_DEFINED);
    assertThat(ice.idToPiece(361)).isEqualTo("[gMASK]");
    assertThat(ice.type(361)).isEqualTo(PieceType.CONTROL);
    assertThat(ice.score(100)).isNegative();

    SentencePieceTokenizer nfkc =
        SentencePieceTokenizer.load(Path.of(getClass().getResource("nfkc_unigram.model").toURI()));
    assertThat(nfkc.model().hasCharsMap()).isTrue();
    assertThat(nfkc.model().normalizerName()).isEqualTo("nmt_nfkc");
    assertThat(nfkc.model().removeExtraWhitespaces()).isTrue();
  }

  @Test
  void hfLlamaTokenizerGivesLlavasPromptIds() throws Exception {
    HfLlamaTokenizer tokenizer = HfLlamaTokenizer.open(LLAVA);
    JsonNode cases = JSON.readTree(LLAVA.resolve("golden.json").toFile()).get("cases");
    assertThat(cases.size()).isGreaterThan(2);
    for (JsonNode c : cases) {
      // LLaVA's tokenizer_image_token: each chunk with bos, later chunks drop it, -200 between
      List<Integer> ids = new ArrayList<>();
      String[] chunks = c.get("conversation_text").asText().split("<image>", -1);
      for (int i = 0; i < chunks.length; i++) {
        if (i > 0) {
          ids.add(LLAVA_IMAGE_MARKER);
        }
        int[] chunkIds = tokenizer.encode(chunks[i], true);
        for (int k = i == 0 ? 0 : 1; k < chunkIds.length; k++) {
          ids.add(chunkIds[k]);
        }
      }
      assertThat(ids).as(c.get("name").asText()).isEqualTo(ints(textOrArray(c.get("prompt_ids"))));
      // the reply text the original keeps: tokenizer.decode(new_ids).strip()
      int[] generated = ints(c.get("greedy_new_ids")).stream().mapToInt(Integer::intValue).toArray();
      assertThat(tokenizer.decode(generated).strip()).as(c.get("name").asText())
          .isEqualTo(c.get("greedy_text").asText());
    }
  }

  @Test
  void sentencePieceGivesMiniGpt4SegmentIds() throws Exception {
    SentencePieceTokenizer sp = SentencePieceTokenizer.load(MINIGPT4.resolve("vicuna/tokenizer.model"));
    JsonNode cases = JSON.readTree(MINIGPT4.resolve("golden.json").toFile()).get("cases");
    for (JsonNode c : cases) {
      JsonNode segments = c.get("prompt_segments");
      JsonNode expected = textOrArray(c.get("prompt_segment_ids"));
      for (int s = 0; s < segments.size(); s++) {
        List<Integer> ids = new ArrayList<>();
        if (s == 0) {
          ids.add(sp.bosId());
        }
        for (int id : sp.encode(segments.get(s).asText())) {
          ids.add(id);
        }
        assertThat(ids).as("%s segment %d", c.get("name").asText(), s).isEqualTo(ints(expected.get(s)));
      }
    }
  }

  @Test
  void chatGlmRulesLayeredOnIceTextGiveVisualGlmIds() throws Exception {
    SentencePieceTokenizer ice = SentencePieceTokenizer.load(VISUALGLM.resolve("ice_text.model"));
    JsonNode cases = JSON.readTree(VISUALGLM.resolve("golden.json").toFile()).get("cases");
    int checked = 0;
    for (JsonNode c : cases) {
      for (JsonNode segment : c.get("prompt_segments")) {
        if (!segment.has("text")) {
          continue;
        }
        int[] ids = ice.encode(chatGlmSubstitutions(segment.get("text").asText()));
        assertThat(ids).as(c.get("name").asText()).containsExactly(
            ints(segment.get("ids")).stream().mapToInt(Integer::intValue).toArray());
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(5);
  }

  /** ChatGLMTokenizer's text rules (the VisualGLM family owns them; here only to reach the ids). */
  private static String chatGlmSubstitutions(String text) {
    String out = text.replace("\n", "<n>").replace("\t", "<|tab|>");
    Matcher m = Pattern.compile(" {2,80}").matcher(out);
    StringBuilder b = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(b, "<|blank_" + m.group().length() + "|>");
    }
    return m.appendTail(b).toString();
  }

  @Test
  void matchesGoogleSentencepieceOnCjkEmojiAndWhitespace() throws Exception {
    JsonNode reference;
    try (InputStream in = getClass().getResourceAsStream("sentencepiece_reference.json")) {
      reference = JSON.readTree(in);
    }
    int checked = 0;
    for (var it = reference.get("models").fields(); it.hasNext(); ) {
      var model = it.next();
      String name = model.getValue().get("file").asText();
      Path file = name.startsWith("fixtures/")
          ? FIXTURES.resolve(name.substring("fixtures/".length()))
          : Path.of(getClass().getResource(Path.of(name).getFileName().toString()).toURI());
      SentencePieceTokenizer sp = SentencePieceTokenizer.load(file);
      for (JsonNode c : model.getValue().get("cases")) {
        String text = c.get("text").asText();
        int[] ids = sp.encode(text);
        String label = model.getKey() + " '" + text + "'";
        assertThat(ints(c.get("ids"))).as(label).isEqualTo(boxed(ids));
        assertThat(sp.decode(ids)).as(label).isEqualTo(c.get("decoded").asText());
        checked++;
      }
    }
    assertThat(checked).isEqualTo(40);
  }

  @Test
  void byteFallbackRoundTripsTextOutsideTheVocabulary() throws Exception {
    SentencePieceTokenizer sp = SentencePieceTokenizer.load(LLAVA.resolve("tokenizer.model"));
    for (String text : List.of("描述这张图片。", "图片 🐱🐶 😀👍🏽", "naïve café © ∑", "混合 text 与 emoji 🎉\n第二行")) {
      int[] ids = sp.encode(text);
      assertThat(sp.decode(ids)).isEqualTo(text);
      assertThat(boxed(ids)).anyMatch(id -> sp.type(id) == PieceType.BYTE);
    }
    // an invalid byte sequence decodes to one U+FFFD per byte, as sentencepiece does
    int[] broken = {sp.pieceToId("<0xE6>"), sp.pieceToId("<0x8F>"), sp.pieceToId("a")};
    assertThat(sp.decode(broken)).isEqualTo("\uFFFD\uFFFDa");
    assertThat(sp.encodeAsPieces("hi", false).get(0)).doesNotStartWith("\u2581");
  }

  private static JsonNode textOrArray(JsonNode node) throws Exception {
    return node.isTextual() ? JSON.readTree(node.asText()) : node;
  }

  private static List<Integer> ints(JsonNode array) {
    List<Integer> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asInt()));
    return out;
  }

  private static List<Integer> boxed(int[] ids) {
    List<Integer> out = new ArrayList<>();
    for (int id : ids) {
      out.add(id);
    }
    return out;
  }
}

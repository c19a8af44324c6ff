package io.mmstream.model.blip;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * BERT uncased WordPiece as BLIP uses it ({@code [CLS] text [SEP]}), through the HF tokenizers
 * library, plus the original's two extra tokens: [DEC] starts every decoder sequence, [ENC] replaces
 * [CLS] in VQA questions.
 *
 * <p>Reads {@code tokenizer.json}; a directory with only {@code vocab.txt} gets the equivalent
 * {@code BertTokenizer} pipeline built in memory, with [DEC]/[ENC] appended after the vocabulary as
 * the original's {@code init_tokenizer} adds them.
 */
public final class BlipTokenizer implements AutoCloseable {
  /** The original tokenizes questions with {@code truncation=True, max_length=35}. */
  public static final int QUESTION_MAX_LENGTH = 35;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> BERT_SPECIAL_TOKENS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");

  /** Token ids in rows of equal length, padded, with a 1/0 attention mask. */
  public record Batch(long[][] ids, long[][] mask) {}

  private final HuggingFaceTokenizer tokenizer;
  private final long decId;
  private final long encId;
  private final long padId;

  private BlipTokenizer(HuggingFaceTokenizer tokenizer, long decId, long padId) {
    this.tokenizer = tokenizer;
    this.decId = decId;
    this.padId = padId;
    this.encId = singleTokenId("[ENC]").orElse(decId + 1);
  }

  /** Opens the tokenizer of {@code modelDirectory}; [DEC] and [PAD] come from the text config. */
  public static BlipTokenizer open(Path modelDirectory, BlipTextConfig text) throws IOException {
    Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
    Path json = modelDirectory.resolve("tokenizer.json");
    HuggingFaceTokenizer tokenizer;
    if (Files.isRegularFile(json)) {
      tokenizer = HuggingFaceTokenizer.newInstance(json, options);
    } else if (Files.isRegularFile(modelDirectory.resolve("vocab.txt"))) {
      byte[] built = JSON.writeValueAsBytes(bertTokenizerJson(modelDirectory));
      tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(built), options);
    } else {
      throw new IOException(modelDirectory + ": neither tokenizer.json nor vocab.txt found");
    }
    return new BlipTokenizer(tokenizer, text.bosTokenId(), text.padTokenId());
  }

  public long decId() {
    return decId;
  }

  public long encId() {
    return encId;
  }

  /** {@code [CLS] text [SEP]}. */
  public long[] encode(String text) {
    return tokenizer.encode(text).getIds();
  }

  /** The caption decoder's start: the prompt with [DEC] for [CLS] and no [SEP] ("" gives [DEC] alone). */
  public long[] captionPrompt(String prompt) {
    long[] ids = encode(prompt);
    long[] out = Arrays.copyOf(ids, ids.length - 1);
    out[0] = decId;
    return out;
  }

  /** Questions as the original feeds them: truncated to 35 tokens, [ENC] for [CLS], padded to the longest. */
  public Batch questions(List<String> questions) {
    long[][] rows = new long[questions.size()][];
    for (int i = 0; i < rows.length; i++) {
      long[] ids = encode(questions.get(i));
      if (ids.length > QUESTION_MAX_LENGTH) {
        long sep = ids[ids.length - 1];
        ids = Arrays.copyOf(ids, QUESTION_MAX_LENGTH);
        ids[QUESTION_MAX_LENGTH - 1] = sep;
      }
      ids[0] = encId;
      rows[i] = ids;
    }
    return pad(rows);
  }

  /** Rank-mode candidates as the original prepares them: {@code [DEC] answer [SEP]}, padded to the longest. */
  public Batch candidates(List<String> answers) {
    return decoderSequences(answers);
  }

  /** Whole decoder sequences {@code [DEC] text [SEP]}, padded to the longest (scoring, teacher forcing). */
  public Batch decoderSequences(List<String> texts) {
    long[][] rows = new long[texts.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = encode(texts.get(i));
      rows[i][0] = decId;
    }
    return pad(rows);
  }

  /** Text of {@code ids} without special tokens (HF {@code decode(ids, skip_special_tokens=True)}). */
  public String decode(long[] ids) {
    return tokenizer.decode(ids, true);
  }

  private Batch pad(long[][] rows) {
    int longest = Arrays.stream(rows).mapToInt(r -> r.length).max().orElse(0);
    long[][] ids = new long[rows.length][longest];
    long[][] mask = new long[rows.length][longest];
    for (int i = 0; i < rows.length; i++) {
      Arrays.fill(ids[i], padId);
      System.arraycopy(rows[i], 0, ids[i], 0, rows[i].length);
      Arrays.fill(mask[i], 0, rows[i].length, 1L);
    }
    return new Batch(ids, mask);
  }

  private OptionalLong singleTokenId(String token) {
    Encoding e = tokenizer.encode(token, false, false);
    if (e.getIds().length == 1 && token.equals(e.getTokens()[0])) {
      return OptionalLong.of(e.getIds()[0]);
    }
    return OptionalLong.empty();
  }

  /** {@code tokenizer.json} of HF's BertTokenizerFast for {@code vocab.txt}, plus [DEC] and [ENC]. */
  private static ObjectNode bertTokenizerJson(Path directory) throws IOException {
    List<String> vocab = Files.readAllLines(directory.resolve("vocab.txt"), StandardCharsets.UTF_8);
    Map<String, Integer> ids = new LinkedHashMap<>();
    for (String token : vocab) {
      ids.putIfAbsent(token, ids.size());
    }
    Map<String, Integer> added = new LinkedHashMap<>();
    Path addedFile = directory.resolve("added_tokens.json");
    if (Files.isRegularFile(addedFile)) {
      JSON.readTree(addedFile.toFile()).fields().forEachRemaining(f -> added.put(f.getKey(), f.getValue().asInt()));
    } else {
      added.put("[DEC]", ids.size());
      added.put("[ENC]", ids.size() + 1);
    }
    boolean lowercase = true;
    Path config = directory.resolve("tokenizer_config.json");
    if (Files.isRegularFile(config)) {
      lowercase = JSON.readTree(config.toFile()).path("do_lower_case").asBoolean(true);
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode addedTokens = root.putArray("added_tokens");
    for (String special : BERT_SPECIAL_TOKENS) {
      if (!ids.containsKey(special)) {
        throw new IOException(directory.resolve("vocab.txt") + ": no " + special + " token");
      }
      addedToken(addedTokens, special, ids.get(special));
    }
    added.forEach((token, id) -> addedToken(addedTokens, token, id));
    ObjectNode normalizer = root.putObject("normalizer");
    normalizer.put("type", "BertNormalizer");
    normalizer.put("clean_text", true);
    normalizer.put("handle_chinese_chars", true);
    normalizer.putNull("strip_accents");
    normalizer.put("lowercase", lowercase);
    root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
    ObjectNode post = root.putObject("post_processor");
    post.put("type", "TemplateProcessing");
    post.set("single", JSON.valueToTree(List.of(
        Map.of("SpecialToken", Map.of("id", "[CLS]", "type_id", 0)),
        Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
        Map.of("SpecialToken", Map.of("id", "[SEP]", "type_id", 0)))));
    post.set("pair", JSON.valueToTree(List.of(
        Map.of("SpecialToken", Map.of("id", "[CLS]", "type_id", 0)),
        Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
        Map.of("SpecialToken", Map.of("id", "[SEP]", "type_id", 0)),
        Map.of("Sequence", Map.of("id", "B", "type_id", 1)),
        Map.of("SpecialToken", Map.of("id", "[SEP]", "type_id", 1)))));
    ObjectNode specials = post.putObject("special_tokens");
    for (String token : List.of("[CLS]", "[SEP]")) {
      specials.set(token, JSON.valueToTree(Map.of("id", token, "ids", List.of(ids.get(token)), "tokens", List.of(token))));
    }
    ObjectNode decoder = root.putObject("decoder");
    decoder.put("type", "WordPiece");
    decoder.put("prefix", "##");
    decoder.put("cleanup", true);
    ObjectNode model = root.putObject("model");
    model.put("type", "WordPiece");
    model.put("unk_token", "[UNK]");
    model.put("continuing_subword_prefix", "##");
    model.put("max_input_chars_per_word", 100);
    model.set("vocab", JSON.valueToTree(ids));
    return root;
  }

  private static void addedToken(ArrayNode list, String content, int id) {
    ObjectNode token = list.addObject();
    token.put("id", id);
    token.put("content", content);
    token.put("single_word", false);
    token.put("lstrip", false);
    token.put("rstrip", false);
    token.put("normalized", false);
    token.put("special", true);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}

package io.mmstream.model.clip;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.jsoup.parser.Parser;

/**
 * openai's CLIP tokenizer ({@code simple_tokenizer.py} + {@code clip.tokenize(truncate=True)}) on
 * Hugging Face's Rust BPE through DJL.
 *
 * <p>The BPE model, the pre-tokenizing regex and the byte-level mapping run in HF tokenizers: from
 * {@code tokenizer.json} when the model directory has one, otherwise from {@code vocab.json} +
 * {@code merges.txt} wrapped into the same tokenizer.json that HF's CLIP converter writes. HF's
 * pipeline lacks two steps of openai's {@code basic_clean}/{@code whitespace_clean}: HTML
 * unescaping (twice) and stripping; this class applies both, with the whitespace collapsing and
 * lower-casing, before handing the text over, so the two file layouts give openai's ids. Rows are
 * {@code [SOT] + ids + [EOT]}, cut to the context length with EOT kept last, padded with 0.
 */
public final class ClipTokenizer implements AutoCloseable {
  public static final String TOKENIZER_JSON = "tokenizer.json";
  public static final String VOCAB_JSON = "vocab.json";
  public static final String MERGES_TXT = "merges.txt";
  public static final String START_OF_TEXT = "<|startoftext|>";
  public static final String END_OF_TEXT = "<|endoftext|>";

  /** openai's and HF's CLIP pre-tokenizer: contractions, letter runs, single digits, symbol runs. */
  static final String SPLIT_REGEX = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
  /** Python's {@code \s} / {@code str.isspace()}, which includes \x1c-\x1f unlike Java's White_Space. */
  private static final String PYTHON_WHITESPACE =
      "[\\t\\n\\x0B\\f\\r\\x1C-\\x1F \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]";
  private static final Pattern WHITESPACE_RUN = Pattern.compile(PYTHON_WHITESPACE + "+");
  private static final Pattern EDGE_WHITESPACE =
      Pattern.compile("^" + PYTHON_WHITESPACE + "+|" + PYTHON_WHITESPACE + "+$");
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Token ids of a batch of texts, {@code contextLength} per row ({@code [SOT] ... [EOT] 0 0 ...}),
   * and where each row's end-of-text token is (openai pools there: {@code argmax(input_ids)}).
   */
  public record Batch(long[][] ids, int[] eotIndices) {
    public int size() {
      return ids.length;
    }

    /** Positions up to and including the last end-of-text token of the batch. */
    public int longestLength() {
      return Arrays.stream(eotIndices).max().orElse(0) + 1;
    }

    /** The first {@code length} columns as an INT64 [B, length] array. */
    public NDArray toInputIds(NDManager manager, int length) {
      LongBuffer flat = LongBuffer.allocate(ids.length * length);
      for (long[] row : ids) {
        flat.put(row, 0, length);
      }
      return manager.create(flat.flip(), new Shape(ids.length, length));
    }

    /** {@code 1} up to and including each row's end-of-text token (openai uses no padding mask). */
    public long[][] attentionMask() {
      long[][] mask = new long[ids.length][ids[0].length];
      for (int b = 0; b < ids.length; b++) {
        Arrays.fill(mask[b], 0, eotIndices[b] + 1, 1L);
      }
      return mask;
    }
  }

  private final HuggingFaceTokenizer tokenizer;
  private final int contextLength;
  private final long startOfText;
  private final long endOfText;

  private ClipTokenizer(HuggingFaceTokenizer tokenizer, int contextLength) {
    this.tokenizer = tokenizer;
    this.contextLength = contextLength;
    this.startOfText = singleId(tokenizer, START_OF_TEXT);
    this.endOfText = singleId(tokenizer, END_OF_TEXT);
    if (contextLength < 2) {
      throw new IllegalArgumentException("context length must hold SOT and EOT, got " + contextLength);
    }
  }

  /** The tokenizer of a model directory; rows hold {@code contextLength} ids (77 for CLIP). */
  public static ClipTokenizer load(Path dir, int contextLength) throws IOException {
    Map<String, String> options = Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false");
    Path tokenizerJson = dir.resolve(TOKENIZER_JSON);
    if (Files.isRegularFile(tokenizerJson)) {
      return new ClipTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, options), contextLength);
    }
    Path vocab = dir.resolve(VOCAB_JSON);
    Path merges = dir.resolve(MERGES_TXT);
    if (!Files.isRegularFile(vocab) || !Files.isRegularFile(merges)) {
      throw new IOException(dir + ": no " + TOKENIZER_JSON + ", and no " + VOCAB_JSON + " + " + MERGES_TXT);
    }
    byte[] json = JSON.writeValueAsBytes(tokenizerJson(vocab, merges));
    return new ClipTokenizer(
        HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), options), contextLength);
  }

  public int contextLength() {
    return contextLength;
  }

  /** The ids of one text between SOT and EOT, not cut to the context length. */
  public long[] encodeWithoutSpecialTokens(String text) {
    Encoding encoding = tokenizer.encode(clean(text), false, false);
    return encoding.getIds();
  }

  /** openai's {@code clip.tokenize(texts, context_length, truncate=True)}. */
  public Batch encode(List<String> texts) {
    long[][] ids = new long[texts.size()][];
    int[] eot = new int[texts.size()];
    for (int b = 0; b < ids.length; b++) {
      long[] inner = encodeWithoutSpecialTokens(texts.get(b));
      long[] row = new long[contextLength];
      row[0] = startOfText;
      int kept = Math.min(inner.length, contextLength - 2);
      System.arraycopy(inner, 0, row, 1, kept);
      row[kept + 1] = endOfText;
      ids[b] = row;
      eot[b] = firstIndexOf(row, endOfText);
    }
    return new Batch(ids, eot);
  }

  /**
   * openai's {@code basic_clean} (ftfy aside), {@code whitespace_clean} and lower-casing: HTML
   * entities unescaped twice, whitespace runs collapsed to one space, ends stripped.
   */
  static String clean(String text) {
    String unescaped = Parser.unescapeEntities(Parser.unescapeEntities(text, false), false);
    String collapsed = WHITESPACE_RUN.matcher(EDGE_WHITESPACE.matcher(unescaped).replaceAll("")).replaceAll(" ");
    return collapsed.toLowerCase(Locale.ROOT);
  }

  private static int firstIndexOf(long[] row, long id) {
    for (int i = 0; i < row.length; i++) {
      if (row[i] == id) {
        return i;
      }
    }
    throw new IllegalStateException("no end-of-text token in row");
  }

  private static long singleId(HuggingFaceTokenizer tokenizer, String token) {
    long[] ids = tokenizer.encode(token, false, false).getIds();
    if (ids.length != 1) {
      throw new IllegalArgumentException("tokenizer does not know the special token " + token);
    }
    return ids[0];
  }

  /**
   * The tokenizer.json HF's {@code CLIPConverter} writes for a vocab/merges pair: NFC, whitespace
   * collapsing and lower-casing; the CLIP split regex then byte-level mapping; BPE with a
   * {@code </w>} end-of-word suffix; SOT and EOT as special tokens.
   */
  static ObjectNode tokenizerJson(Path vocabPath, Path mergesPath) throws IOException {
    JsonNode vocab = JSON.readTree(vocabPath.toFile());
    if (!vocab.isObject()) {
      throw new IOException(vocabPath + ": not a token -> id object");
    }
    ArrayNode merges = JSON.createArrayNode();
    for (String line : Files.readAllLines(mergesPath, StandardCharsets.UTF_8)) {
      if (!line.isEmpty() && !line.startsWith("#version")) {
        merges.add(line);
      }
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (String special : List.of(START_OF_TEXT, END_OF_TEXT)) {
      JsonNode id = vocab.get(special);
      if (id == null) {
        throw new IOException(vocabPath + ": no " + special);
      }
      added.addObject()
          .put("id", id.asInt())
          .put("content", special)
          .put("single_word", false)
          .put("lstrip", false)
          .put("rstrip", false)
          .put("normalized", true)
          .put("special", true);
    }
    ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
    ArrayNode normalizers = normalizer.putArray("normalizers");
    normalizers.addObject().put("type", "NFC");
    ObjectNode replace = normalizers.addObject().put("type", "Replace");
    replace.putObject("pattern").put("Regex", "\\s+");
    replace.put("content", " ");
    normalizers.addObject().put("type", "Lowercase");
    ObjectNode preTokenizer = root.putObject("pre_tokenizer").put("type", "Sequence");
    ArrayNode preTokenizers = preTokenizer.putArray("pretokenizers");
    ObjectNode split = preTokenizers.addObject().put("type", "Split");
    split.putObject("pattern").put("Regex", SPLIT_REGEX);
    split.put("behavior", "Removed").put("invert", true);
    preTokenizers.addObject()
        .put("type", "ByteLevel")
        .put("add_prefix_space", false)
        .put("trim_offsets", true)
        .put("use_regex", false);
    root.putNull("post_processor");
    root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
        .put("use_regex", true);
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.put("unk_token", END_OF_TEXT);
    model.put("continuing_subword_prefix", "");
    model.put("end_of_word_suffix", "</w>");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    model.set("vocab", vocab);
    model.set("merges", merges);
    return root;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}

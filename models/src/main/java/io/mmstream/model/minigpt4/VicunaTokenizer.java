package io.mmstream.model.minigpt4;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Vicuna's tokenizer as MiniGPT-4 calls it (transformers 4.28's slow {@code LlamaTokenizer}): {@code tokenizer.json}
 * through DJL's HuggingFaceTokenizer where the directory has one, else the sentencepiece {@code tokenizer.model}.
 * Text is encoded without special tokens, {@code <s>} put first on request; decoding keeps special tokens out of
 * the sentencepiece decoder and writes them as text, as {@code LlamaTokenizer.convert_tokens_to_string} does.
 */
public final class VicunaTokenizer implements AutoCloseable {
  public static final String TOKENIZER_JSON = "tokenizer.json";
  public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
  private static final String UNK = "<unk>";
  private static final String BOS = "<s>";
  private static final String EOS = "</s>";

  /** The pieces a tokenizer backend offers. */
  interface Backend extends AutoCloseable {
    long[] encode(String text);

    String decode(long[] ids);

    Optional<Long> pieceId(String piece);

    String piece(long id);

    @Override
    void close();
  }

  private final Backend backend;
  private final long bosId;
  /** unk, bos, eos: {@code all_special_tokens} of the slow tokenizer. */
  private final long[] specialIds;
  private final boolean cleanUpSpaces;

  VicunaTokenizer(Backend backend, long bosId, long[] specialIds, boolean cleanUpSpaces) {
    this.backend = backend;
    this.bosId = bosId;
    this.specialIds = specialIds.clone();
    this.cleanUpSpaces = cleanUpSpaces;
  }

  /** The tokenizer of the Vicuna directory {@code dir}; its special tokens are LLaMA's {@code <unk> <s> </s>}. */
  public static VicunaTokenizer load(Path dir) throws IOException {
    Path config = dir.resolve(TOKENIZER_CONFIG);
    // transformers 4.28 cleans up spaces before punctuation unless the tokenizer config says otherwise.
    boolean cleanUp = !Files.isRegularFile(config)
        || new ObjectMapper().readTree(config.toFile()).path("clean_up_tokenization_spaces").asBoolean(true);
    Path json = dir.resolve(TOKENIZER_JSON);
    Backend backend = Files.isRegularFile(json) ? new HuggingFaceBackend(json) : SentencePieceBackend.open(dir);
    try {
      long unk = special(backend, UNK, dir);
      long bos = special(backend, BOS, dir);
      long eos = special(backend, EOS, dir);
      return new VicunaTokenizer(backend, bos, new long[] {unk, bos, eos}, cleanUp);
    } catch (IOException | RuntimeException e) {
      backend.close();
      throw e;
    }
  }

  private static long special(Backend backend, String piece, Path dir) throws IOException {
    return backend.pieceId(piece).orElseThrow(() -> new IOException(dir + ": the tokenizer has no " + piece));
  }

  /** {@code llama_tokenizer(text, add_special_tokens=withBos).input_ids}. */
  public long[] encode(String text, boolean withBos) {
    long[] ids = backend.encode(text);
    if (!withBos) {
      return ids;
    }
    long[] out = new long[ids.length + 1];
    out[0] = bosId;
    System.arraycopy(ids, 0, out, 1, ids.length);
    return out;
  }

  /** The id of one vocabulary piece, e.g. {@code ###}; empty when the vocabulary has no such piece. */
  public Optional<Long> pieceId(String piece) {
    return backend.pieceId(piece);
  }

  /** {@code llama_tokenizer.decode(ids)}: special tokens as their text, a space before a run of them. */
  public String decode(long[] ids) {
    StringBuilder out = new StringBuilder();
    List<Long> run = new ArrayList<>();
    boolean previousSpecial = false;
    for (int i = 0; i < ids.length; i++) {
      if (isSpecial(ids[i])) {
        if (!previousSpecial && i != 0) {
          out.append(' ');
        }
        out.append(decodeRun(run)).append(backend.piece(ids[i]));
        run.clear();
        previousSpecial = true;
      } else {
        run.add(ids[i]);
        previousSpecial = false;
      }
    }
    out.append(decodeRun(run));
    return cleanUpSpaces ? cleanUpTokenization(out.toString()) : out.toString();
  }

  private String decodeRun(List<Long> run) {
    return run.isEmpty() ? "" : backend.decode(run.stream().mapToLong(Long::longValue).toArray());
  }

  private boolean isSpecial(long id) {
    return Arrays.stream(specialIds).anyMatch(s -> s == id);
  }

  /** transformers' {@code clean_up_tokenization}: no space before punctuation and English contractions. */
  static String cleanUpTokenization(String text) {
    return text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
        .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
        .replace(" 've", "'ve").replace(" 're", "'re");
  }

  @Override
  public void close() {
    backend.close();
  }

  private static final class HuggingFaceBackend implements Backend {
    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Long> vocabulary = new HashMap<>();
    private final Map<Long, String> pieces = new HashMap<>();

    HuggingFaceBackend(Path json) throws IOException {
      // Pieces are looked up in the file's vocabulary: DJL's tokenizer offers no piece-to-id call.
      JsonNode root = new ObjectMapper().readTree(json.toFile());
      root.path("model").path("vocab").fields().forEachRemaining(e -> add(e.getKey(), e.getValue().asLong()));
      root.path("added_tokens").forEach(t -> add(t.path("content").asText(), t.path("id").asLong()));
      this.tokenizer = HuggingFaceTokenizer.newInstance(json,
          Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    }

    private void add(String piece, long id) {
      vocabulary.put(piece, id);
      pieces.put(id, piece);
    }

    @Override
    public long[] encode(String text) {
      return tokenizer.encode(text, false, false).getIds();
    }

    @Override
    public String decode(long[] ids) {
      return tokenizer.decode(ids, false);
    }

    @Override
    public Optional<Long> pieceId(String piece) {
      return Optional.ofNullable(vocabulary.get(piece));
    }

    @Override
    public String piece(long id) {
      return pieces.getOrDefault(id, "");
    }

    @Override
    public void close() {
      tokenizer.close();
    }
  }
}

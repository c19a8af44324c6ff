package io.mmstream.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's slow {@code LlamaTokenizer} with {@code legacy=False} (transformers 4.37, what
 * LLaVA-1.5 loads) over a LLaMA {@code tokenizer.model}: the text is split on the special and added
 * tokens ({@code <s> </s> <unk>} and {@code added_tokens.json}, never stripped), {@code ▁} is put
 * before the whole text, each chunk is encoded without sentencepiece's dummy prefix (so a chunk right
 * after a special token gets no {@code ▁}), and {@code <s>} leads when asked for.
 *
 * <p>MiniGPT-4's transformers 4.28 tokenizer is the legacy one: plain {@link
 * SentencePieceTokenizer#encode(String)} per segment.
 */
public final class HfLlamaTokenizer {
  public static final String ADDED_TOKENS_FILE = "added_tokens.json";
  private static final String SPACE = "\u2581";

  private final SentencePieceTokenizer pieces;
  /** Special and added tokens, longest first so the split takes the longest match. */
  private final Map<String, Integer> specials = new LinkedHashMap<>();

  public HfLlamaTokenizer(SentencePieceTokenizer pieces, Map<String, Integer> addedTokens) {
    this.pieces = pieces;
    Map<String, Integer> all = new LinkedHashMap<>();
    for (int id : new int[] {pieces.unkId(), pieces.bosId(), pieces.eosId()}) {
      if (id >= 0) {
        all.put(pieces.idToPiece(id), id);
      }
    }
    all.putAll(addedTokens);
    all.entrySet().stream()
        .sorted((a, b) -> b.getKey().length() - a.getKey().length())
        .forEach(e -> specials.put(e.getKey(), e.getValue()));
  }

  /** Opens {@code tokenizer.model} and, when present, {@code added_tokens.json} of a model directory. */
  public static HfLlamaTokenizer open(Path directory) throws IOException {
    SentencePieceTokenizer sp = SentencePieceTokenizer.load(directory.resolve("tokenizer.model"));
    Map<String, Integer> added = new LinkedHashMap<>();
    Path addedFile = directory.resolve(ADDED_TOKENS_FILE);
    if (Files.isRegularFile(addedFile)) {
      JsonNode root = new ObjectMapper().readTree(addedFile.toFile());
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        added.put(e.getKey(), e.getValue().asInt());
      }
    }
    return new HfLlamaTokenizer(sp, added);
  }

  public SentencePieceTokenizer pieces() {
    return pieces;
  }

  /** {@code tokenizer(text).input_ids}: with {@code addBos}, {@code <s>} first. */
  public int[] encode(String text, boolean addBos) {
    List<Integer> ids = new ArrayList<>();
    if (addBos) {
      ids.add(pieces.bosId());
    }
    if (!text.isEmpty()) {
      List<Object> chunks = split(SPACE + text.replace(SPACE, " "));
      // "▁" alone before a leading special token is dropped, as transformers does
      if (chunks.size() > 1 && SPACE.equals(chunks.get(0)) && chunks.get(1) instanceof Integer) {
        chunks.remove(0);
      }
      for (Object chunk : chunks) {
        if (chunk instanceof Integer id) {
          ids.add(id);
        } else {
          for (int id : pieces.encode((String) chunk, false)) {
            ids.add(id);
          }
        }
      }
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * {@code tokenizer.decode(ids)} (special tokens kept, no clean-up, as LLaVA's config says): the first
   * token's {@code ▁} dropped, runs between special tokens decoded by sentencepiece without its own
   * dummy-prefix removal, special tokens written as their text.
   */
  public String decode(int[] ids) {
    List<String> tokens = new ArrayList<>();
    for (int id : ids) {
      tokens.add(id < pieces.pieceCount() ? pieces.idToPiece(id) : specialText(id));
    }
    if (tokens.isEmpty()) {
      return "";
    }
    if (tokens.get(0).startsWith(SPACE)) {
      tokens.set(0, tokens.get(0).substring(SPACE.length()));
    }
    StringBuilder out = new StringBuilder();
    List<String> run = new ArrayList<>();
    for (String token : tokens) {
      if (specials.containsKey(token)) {
        out.append(pieces.decodePieces(run, false)).append(token);
        run.clear();
      } else {
        run.add(token);
      }
    }
    return out.append(pieces.decodePieces(run, false)).toString();
  }

  private String specialText(int id) {
    return specials.entrySet().stream()
        .filter(e -> e.getValue() == id)
        .map(Map.Entry::getKey)
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("id " + id + " is neither a piece nor an added token"));
  }

  /** Text chunks (String) and special tokens (Integer id), in order. */
  private List<Object> split(String text) {
    List<Object> out = new ArrayList<>();
    int start = 0;
    int at = 0;
    outer:
    while (at < text.length()) {
      for (Map.Entry<String, Integer> special : specials.entrySet()) {
        if (text.startsWith(special.getKey(), at)) {
          if (at > start) {
            out.add(text.substring(start, at));
          }
          out.add(special.getValue());
          at += special.getKey().length();
          start = at;
          continue outer;
        }
      }
      at++;
    }
    if (start < text.length()) {
      out.add(text.substring(start));
    }
    return out;
  }
}

package io.mmstream.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * transformers' slow {@code LlamaTokenizer} with {@code legacy=False} (4.37, what LLaVA-1.5 runs) over a
 * sentencepiece model: the text gets one leading {@code ▁}, is split on the added tokens, and each chunk that
 * starts with a space is encoded behind {@code <unk>} (whose pieces are then dropped) so that sentencepiece sees
 * no dummy prefix of its own; a chunk right after an added token gets no prefix at all. Decoding joins pieces as
 * {@code convert_tokens_to_string} does: special tokens written as text, byte pieces gathered into UTF-8.
 */
public final class LlamaTokenizer {
  private static final char SPIECE_UNDERLINE = '\u2581';
  private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-F]{2}>");

  /** The sentencepiece model as this tokenizer needs it. */
  public interface Pieces {
    /** {@code sp_model.encode(text)} with the model's dummy prefix turned off ({@code legacy=False} does so). */
    long[] encodeWithoutDummyPrefix(String text);

    /** The piece of {@code id}, e.g. {@code ▁the} or {@code <0x0A>}. */
    String piece(long id);

    /** Pieces in the model (added tokens come after them). */
    int size();
  }

  private final Pieces pieces;
  /** Added tokens (tokenizer_config.json's added_tokens_decoder): content to id, in id order. */
  private final Map<String, Long> addedTokens;
  private final Map<Long, String> addedById = new LinkedHashMap<>();
  /** unk, bos, eos and pad: transformers' {@code all_special_tokens}. */
  private final List<String> specialTokens;
  private final long bosId;
  private final boolean addBos;
  private final int unkPieceCount;

  public LlamaTokenizer(Pieces pieces, Map<String, Long> addedTokens, List<String> specialTokens, long bosId,
      boolean addBos) {
    this.pieces = pieces;
    this.addedTokens = new LinkedHashMap<>(addedTokens);
    addedTokens.forEach((content, id) -> addedById.put(id, content));
    this.specialTokens = List.copyOf(specialTokens);
    this.bosId = bosId;
    this.addBos = addBos;
    this.unkPieceCount = pieces.encodeWithoutDummyPrefix("<unk>").length;
  }

  /**
   * Reads tokenizer_config.json: {@code added_tokens_decoder}, the special tokens and {@code add_bos_token};
   * refuses a config that is not {@code legacy: false}, whose rules differ.
   */
  public static LlamaTokenizer fromConfig(Pieces pieces, JsonNode config) {
    if (config.path("legacy").asBoolean(true)) {
      throw new IllegalArgumentException("tokenizer_config.json: only legacy=false LLaMA tokenizers are supported "
          + "(legacy is " + config.path("legacy") + ")");
    }
    Map<String, Long> added = new LinkedHashMap<>();
    config.path("added_tokens_decoder").fields().forEachRemaining(
        e -> added.put(e.getValue().path("content").asText(), Long.parseLong(e.getKey())));
    List<String> special = new ArrayList<>();
    for (String name : List.of("unk_token", "bos_token", "eos_token", "pad_token")) {
      JsonNode token = config.path(name);
      String content = token.isObject() ? token.path("content").asText() : token.asText("");
      if (!content.isEmpty()) {
        special.add(content);
      }
    }
    String bos = config.path("bos_token").isObject() ? config.path("bos_token").path("content").asText()
        : config.path("bos_token").asText("<s>");
    Long bosId = added.get(bos);
    if (bosId == null) {
      throw new IllegalArgumentException("tokenizer_config.json: bos token " + bos + " is not an added token");
    }
    return new LlamaTokenizer(pieces, added, special, bosId, config.path("add_bos_token").asBoolean(true));
  }

  /** {@code tokenizer(text).input_ids}: with {@code <s>} first when the config adds it. */
  public long[] encode(String text) {
    List<Long> ids = new ArrayList<>();
    if (addBos) {
      ids.add(bosId);
    }
    if (!text.isEmpty()) {
      List<String> chunks = splitOnAddedTokens(SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, ' '));
      // A lone "▁" before a special token is dropped, as tokenize() does.
      if (chunks.size() > 1 && chunks.get(0).equals(String.valueOf(SPIECE_UNDERLINE))
          && specialTokens.contains(chunks.get(1))) {
        chunks.remove(0);
      }
      for (String chunk : chunks) {
        Long added = addedTokens.get(chunk);
        if (added != null) {
          ids.add(added);
        } else {
          for (long id : encodeChunk(chunk)) {
            ids.add(id);
          }
        }
      }
    }
    return ids.stream().mapToLong(Long::longValue).toArray();
  }

  private long[] encodeChunk(String chunk) {
    if (chunk.charAt(0) != SPIECE_UNDERLINE && chunk.charAt(0) != ' ') {
      return pieces.encodeWithoutDummyPrefix(chunk);
    }
    long[] withUnk = pieces.encodeWithoutDummyPrefix("<unk>" + chunk);
    return withUnk.length >= unkPieceCount
        ? java.util.Arrays.copyOfRange(withUnk, unkPieceCount, withUnk.length) : withUnk;
  }

  /** Text and added tokens in order; the added tokens match left to right, longest first. */
  private List<String> splitOnAddedTokens(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < text.length()) {
      String match = null;
      for (String token : addedTokens.keySet()) {
        if (text.startsWith(token, i) && (match == null || token.length() > match.length())) {
          match = token;
        }
      }
      if (match == null) {
        i++;
        continue;
      }
      if (i > start) {
        out.add(text.substring(start, i));
      }
      out.add(match);
      i += match.length();
      start = i;
    }
    if (start < text.length()) {
      out.add(text.substring(start));
    }
    return out;
  }

  /**
   * {@code tokenizer.decode(ids, skip_special_tokens=skipSpecial)}: the first piece loses its leading {@code ▁},
   * special tokens are written as their text, added tokens beyond the model's pieces stand apart with a space.
   */
  public String decode(long[] ids, boolean skipSpecial) {
    List<String> texts = new ArrayList<>();
    List<String> run = new ArrayList<>();
    for (long id : ids) {
      String token = token(id);
      if (skipSpecial && specialTokens.contains(token)) {
        continue;
      }
      if (id >= pieces.size() && !specialTokens.contains(token)) {
        if (!run.isEmpty()) {
          texts.add(tokensToString(run));
          run = new ArrayList<>();
        }
        texts.add(token);
      } else {
        run.add(token);
      }
    }
    if (!run.isEmpty()) {
      texts.add(tokensToString(run));
    }
    return String.join(" ", texts);
  }

  /** The id of a vocabulary piece or added token. */
  public Optional<Long> tokenId(String token) {
    return Optional.ofNullable(addedTokens.get(token));
  }

  private String token(long id) {
    String added = addedById.get(id);
    return added != null ? added : pieces.piece(id);
  }

  /** {@code convert_tokens_to_string} with legacy=False. */
  private String tokensToString(List<String> tokens) {
    List<String> list = new ArrayList<>(tokens);
    if (list.get(0).charAt(0) == SPIECE_UNDERLINE) {
      list.set(0, list.get(0).substring(1));
    }
    StringBuilder out = new StringBuilder();
    List<String> sub = new ArrayList<>();
    for (String token : list) {
      if (specialTokens.contains(token)) {
        out.append(decodePieces(sub)).append(token);
        sub.clear();
      } else {
        sub.add(token);
      }
    }
    return out.append(decodePieces(sub)).toString();
  }

  /** sentencepiece's decode without a dummy prefix: {@code ▁} is a space, byte pieces are UTF-8 bytes. */
  private static String decodePieces(List<String> list) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (String piece : list) {
      if (BYTE_PIECE.matcher(piece).matches()) {
        bytes.write(Integer.parseInt(piece.substring(3, 5), 16));
      } else {
        bytes.writeBytes(piece.replace(SPIECE_UNDERLINE, ' ').getBytes(StandardCharsets.UTF_8));
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}

package io.mmstream.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tokenizer.HfLlamaTokenizer;
import io.mmstream.model.tokenizer.SentencePieceModel.PieceType;
import io.mmstream.model.tokenizer.SentencePieceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A LLaMA directory's tokenizer as transformers 4.37's slow {@code LlamaTokenizer} with {@code legacy=False}
 * uses it (LLaVA-1.5): encoding by {@link HfLlamaTokenizer}, decoding as {@code tokenizer.decode} does it: the
 * first token loses its leading {@code ▁}, special tokens are written as their text between sentencepiece-decoded
 * runs (or left out with {@code skipSpecial}), added tokens beyond the sentencepiece vocabulary stand apart,
 * joined by a space.
 */
public final class LlamaTokenizer {
  private static final String SPACE = "\u2581";

  private final HfLlamaTokenizer encoder;
  private final SentencePieceTokenizer pieces;
  /** unk, bos, eos and pad: transformers' {@code all_special_tokens}. */
  private final List<String> specialTokens;
  private final Map<Integer, String> addedById = new HashMap<>();
  private final boolean addBos;

  private LlamaTokenizer(HfLlamaTokenizer encoder, List<String> specialTokens, Map<String, Integer> added,
      boolean addBos) {
    this.encoder = encoder;
    this.pieces = encoder.pieces();
    this.specialTokens = List.copyOf(specialTokens);
    added.forEach((content, id) -> addedById.put(id, content));
    this.addBos = addBos;
  }

  /**
   * {@code tokenizer.model} with {@code added_tokens.json} and {@code tokenizer_config.json} of {@code dir};
   * refuses a config that is not {@code legacy: false}, whose rules differ.
   */
  public static LlamaTokenizer open(Path dir) throws IOException {
    Path configFile = dir.resolve("tokenizer_config.json");
    JsonNode config = Files.isRegularFile(configFile) ? new ObjectMapper().readTree(configFile.toFile())
        : new ObjectMapper().createObjectNode();
    if (config.path("legacy").asBoolean(true)) {
      throw new IOException(configFile + ": only legacy=false LLaMA tokenizers are supported (legacy is "
          + config.path("legacy") + ")");
    }
    Map<String, Integer> added = new HashMap<>();
    config.path("added_tokens_decoder").fields().forEachRemaining(
        e -> added.put(e.getValue().path("content").asText(), Integer.parseInt(e.getKey())));
    List<String> special = new ArrayList<>();
    for (String name : List.of("unk_token", "bos_token", "eos_token", "pad_token")) {
      JsonNode token = config.path(name);
      String content = token.isObject() ? token.path("content").asText() : token.asText("");
      if (!content.isEmpty()) {
        special.add(content);
      }
    }
    return new LlamaTokenizer(HfLlamaTokenizer.open(dir), special, added,
        config.path("add_bos_token").asBoolean(true));
  }

  /** {@code tokenizer(text).input_ids}: {@code <s>} first when the config adds it. */
  public long[] encode(String text) {
    int[] ids = encoder.encode(text, addBos);
    long[] out = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = ids[i];
    }
    return out;
  }

  /** {@code tokenizer.decode(ids, skip_special_tokens=skipSpecial)}. */
  public String decode(long[] ids, boolean skipSpecial) {
    List<String> texts = new ArrayList<>();
    List<String> run = new ArrayList<>();
    for (long id : ids) {
      String token = token((int) id);
      boolean special = specialTokens.contains(token);
      if (skipSpecial && special) {
        continue;
      }
      if (id >= pieces.pieceCount() && !special) {
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

  private String token(int id) {
    String added = addedById.get(id);
    return added != null ? added : pieces.idToPiece(id);
  }

  /** {@code convert_tokens_to_string}: runs between special tokens through sentencepiece's decode. */
  private String tokensToString(List<String> tokens) {
    List<String> list = new ArrayList<>(tokens);
    if (list.get(0).startsWith(SPACE)) {
      list.set(0, list.get(0).substring(SPACE.length()));
    }
    StringBuilder out = new StringBuilder();
    List<String> sub = new ArrayList<>();
    for (String token : list) {
      if (specialTokens.contains(token)) {
        out.append(decodeRun(sub)).append(token);
        sub.clear();
      } else {
        sub.add(token);
      }
    }
    return out.append(decodeRun(sub)).toString();
  }

  /**
   * sentencepiece's decode as transformers runs it for legacy=False, with the dummy prefix switched off: the
   * reader's decode drops a leading {@code ▁} of the run's first piece when the model has a dummy prefix, so that
   * space is put back.
   */
  private String decodeRun(List<String> run) {
    if (run.isEmpty()) {
      return "";
    }
    String text = pieces.decodePieces(run);
    String first = run.get(0);
    boolean textPiece = pieces.hasPiece(first)
        && (pieces.type(pieces.pieceToId(first)) == PieceType.NORMAL
            || pieces.type(pieces.pieceToId(first)) == PieceType.USER_DEFINED);
    boolean stripped = pieces.model().addDummyPrefix() && !pieces.model().treatWhitespaceAsSuffix()
        && first.startsWith(SPACE) && (textPiece || !pieces.hasPiece(first));
    return stripped ? " " + text : text;
  }
}

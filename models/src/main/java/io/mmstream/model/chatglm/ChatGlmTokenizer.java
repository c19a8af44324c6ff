package io.mmstream.model.chatglm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tokenizer.SentencePieceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * ChatGLM's tokenizer ({@code tokenization_chatglm.ChatGLMTokenizer} as transformers' slow tokenizer runs it) over
 * the sentencepiece model {@code ice_text.model}: special-token strings split out, {@link ChatGlmText}'s
 * whitespace pieces, sentencepiece with its dummy prefix per call, ids shifted by {@code num_image_tokens}.
 * {@link #encode} is {@code encode(text, add_special_tokens=False)}; the chat prompt adds {@code [gMASK] <sop>}
 * itself.
 */
public final class ChatGlmTokenizer {
  public static final String MODEL_FILE = "ice_text.model";
  public static final String CONFIG_FILE = "tokenizer_config.json";

  private final SentencePieceTokenizer pieces;
  private final int numImageTokens;
  private final boolean removeSpace;
  private final boolean lowerCase;
  /** transformers' special tokens of this tokenizer (bos, eos, unk, pad, mask), which are never split. */
  private final List<String> specialTokens;
  private final long padId;

  public ChatGlmTokenizer(SentencePieceTokenizer pieces, int numImageTokens, boolean removeSpace, boolean lowerCase,
      List<String> specialTokens, String padToken) {
    this.pieces = pieces;
    this.numImageTokens = numImageTokens;
    this.removeSpace = removeSpace;
    this.lowerCase = lowerCase;
    this.specialTokens = List.copyOf(specialTokens);
    this.padId = tokenId(padToken);
  }

  /** {@code ice_text.model} and {@code tokenizer_config.json} of {@code directory} (absent settings: the class defaults). */
  public static ChatGlmTokenizer load(Path directory) throws IOException {
    Path model = directory.resolve(MODEL_FILE);
    if (!Files.isRegularFile(model)) {
      throw new IOException(directory + ": no " + MODEL_FILE + " (ChatGLM's sentencepiece model)");
    }
    Path configFile = directory.resolve(CONFIG_FILE);
    JsonNode config = Files.isRegularFile(configFile)
        ? new ObjectMapper().readTree(configFile.toFile())
        : new ObjectMapper().createObjectNode();
    List<String> special = new ArrayList<>();
    for (String[] field : new String[][] {
      {"bos_token", "<sop>"}, {"eos_token", "<eop>"}, {"unk_token", "<unk>"}, {"pad_token", "<pad>"},
      {"mask_token", "[MASK]"}}) {
      special.add(config.path(field[0]).asText(field[1]));
    }
    return new ChatGlmTokenizer(
        SentencePieceTokenizer.load(model),
        config.path("num_image_tokens").asInt(20000),
        config.path("remove_space").asBoolean(false),
        config.path("do_lower_case").asBoolean(false),
        special,
        config.path("pad_token").asText("<pad>"));
  }

  /** The id of a piece of the vocabulary (the unknown id when there is no such piece). */
  public long tokenId(String token) {
    return pieces.pieceToId(token) + (long) numImageTokens;
  }

  /** {@code <unk>}, which also stands for each image token in the prompt. */
  public long unkId() {
    return pieces.unkId() + (long) numImageTokens;
  }

  /** The ids of {@code text} without special tokens added. */
  public long[] encode(String text) {
    List<Long> out = new ArrayList<>();
    for (ChatGlmText.Chunk chunk : ChatGlmText.splitSpecial(text, specialTokens)) {
      if (chunk.special()) {
        out.add(tokenId(chunk.text()));
        continue;
      }
      for (int id : pieces.encode(ChatGlmText.preprocess(normalize(chunk.text())))) {
        out.add(id + (long) numImageTokens);
      }
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  /** {@code preprocess_text}: the tokenizer's optional space folding and lower-casing. */
  private String normalize(String text) {
    String out = removeSpace ? String.join(" ", text.strip().split("\\s+")) : text;
    return lowerCase ? out.toLowerCase(Locale.ROOT) : out;
  }

  /**
   * {@code decode(ids)}: padding left out, pieces decoded by sentencepiece (control pieces give nothing), the
   * whitespace pieces turned back, then {@code clean_up_tokenization}. Ids outside the tokenizer's pieces (the rows
   * by which the checkpoint's vocabulary is padded) have no text: the original fails on them, here they add nothing.
   */
  public String decode(long[] ids) {
    List<String> text = new ArrayList<>();
    for (long id : ids) {
      long piece = id - numImageTokens;
      if (id == padId || piece < 0 || piece >= pieces.pieceCount()) {
        continue;
      }
      text.add(pieces.idToPiece((int) piece));
    }
    return ChatGlmText.cleanUpTokenization(ChatGlmText.postprocess(pieces.decodePieces(text)));
  }
}

package io.mmstream.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The demo models' tokenizer files, in the layouts the real checkpoints use: CLIP's byte-level BPE
 * ({@code vocab.json} + {@code merges.txt}), BERT's WordPiece ({@code vocab.txt}) for BLIP and LLaMA's
 * sentencepiece model ({@code tokenizer.model}) for the LLaVA chat model.
 *
 * <p>The vocabularies are {@link DemoVocabulary}'s words. The BPE merges are derived here because no
 * Java library trains BPE: every byte stays in the alphabet (any text still tokenizes) and the
 * merges are chosen so that each demo word ends up a single token.
 */
public final class DemoTokenizerFiles {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String END_OF_WORD = "</w>";
  /** Unigram scores (log-probabilities): one word piece beats any spelling out of it. */
  private static final float WORD_SCORE = -1f;
  private static final float CHARACTER_SCORE = -10f;
  private static final String SENTENCEPIECE_SPACE = "\u2581";

  private DemoTokenizerFiles() {}

  /** Writes {@code vocab.json} and {@code merges.txt}; returns the vocabulary size. */
  public static int writeClip(Path dir) throws IOException {
    List<String> alphabet = byteAlphabet();
    Map<String, Integer> vocab = new LinkedHashMap<>();
    alphabet.forEach(c -> vocab.put(c, vocab.size()));
    alphabet.forEach(c -> vocab.put(c + END_OF_WORD, vocab.size()));
    List<String[]> merges = new ArrayList<>();
    List<String> words = new ArrayList<>(DemoVocabulary.words());
    for (String word : words) {
      List<String> symbols = applyMerges(word, merges);
      while (symbols.size() > 1) {
        // Appended merges rank last, so they never change how an earlier word tokenizes.
        String[] pair = {symbols.get(0), symbols.get(1)};
        merges.add(pair);
        vocab.putIfAbsent(pair[0] + pair[1], vocab.size());
        symbols = applyMerges(word, merges);
      }
    }
    vocab.put("<|startoftext|>", vocab.size());
    vocab.put("<|endoftext|>", vocab.size());
    Files.writeString(dir.resolve("vocab.json"), JSON.writeValueAsString(vocab), StandardCharsets.UTF_8);
    StringBuilder text = new StringBuilder("#version: 0.2\n");
    merges.forEach(m -> text.append(m[0]).append(' ').append(m[1]).append('\n'));
    Files.writeString(dir.resolve("merges.txt"), text, StandardCharsets.UTF_8);
    return vocab.size();
  }

  /**
   * Writes BLIP's tokenizer files; returns the WordPiece vocabulary size (without [DEC] and [ENC],
   * which come right after it, as the original's {@code init_tokenizer} adds them).
   */
  public static BertVocabulary writeBert(Path dir) throws IOException {
    List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
    vocab.addAll(DemoVocabulary.PUNCTUATION);
    vocab.addAll(DemoVocabulary.words());
    Files.write(dir.resolve("vocab.txt"), vocab, StandardCharsets.UTF_8);
    int dec = vocab.size();
    ObjectNode added = JSON.createObjectNode().put("[DEC]", dec).put("[ENC]", dec + 1);
    Files.writeString(dir.resolve("added_tokens.json"), JSON.writeValueAsString(added), StandardCharsets.UTF_8);
    ObjectNode special = JSON.createObjectNode()
        .put("bos_token", "[DEC]").put("cls_token", "[CLS]").put("mask_token", "[MASK]")
        .put("pad_token", "[PAD]").put("sep_token", "[SEP]").put("unk_token", "[UNK]");
    special.putArray("additional_special_tokens").add("[ENC]");
    Files.writeString(dir.resolve("special_tokens_map.json"), JSON.writeValueAsString(special), StandardCharsets.UTF_8);
    ObjectNode config = special.deepCopy()
        .put("tokenizer_class", "BertTokenizer").put("do_lower_case", true).put("model_max_length", 512);
    Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config), StandardCharsets.UTF_8);
    return new BertVocabulary(vocab.size(), vocab.indexOf("[PAD]"), vocab.indexOf("[SEP]"), dec);
  }

  /**
   * Writes a LLaMA tokenizer as llava-hf directories hold it: {@code tokenizer.model} (a sentencepiece unigram
   * model), {@code tokenizer_config.json} ({@code legacy: false}), {@code special_tokens_map.json} and
   * {@code added_tokens.json} with {@code <image>} and {@code <pad>} after the pieces. Every word of
   * {@code words} is one piece with and one without the leading {@code ▁} (a word right after a special token,
   * or after the image's line break, has none); every printable ASCII character is a piece too, so any such text
   * still tokenizes, and the unigram scores make whole words win over spelling out.
   */
  public static LlamaVocabulary writeLlama(Path dir, List<String> words) throws IOException {
    Set<String> pieces = new LinkedHashSet<>();
    for (String word : words) {
      pieces.add(SENTENCEPIECE_SPACE + word);
      pieces.add(word);
    }
    List<String> characters = new ArrayList<>(List.of(SENTENCEPIECE_SPACE, "\n"));
    for (char c = '!'; c <= '~'; c++) {
      characters.add(String.valueOf(c));
    }
    SentencePieceProto proto = new SentencePieceProto();
    proto.piece("<unk>", 0, 2).piece("<s>", 0, 3).piece("</s>", 0, 3);
    for (String piece : pieces) {
      proto.piece(piece, characters.contains(piece) ? CHARACTER_SCORE : WORD_SCORE, 1);
    }
    for (String character : characters) {
      if (!pieces.contains(character)) {
        proto.piece(character, CHARACTER_SCORE, 1);
      }
    }
    int pieceCount = proto.pieceCount();
    Files.write(dir.resolve("tokenizer.model"), proto.model());
    int image = pieceCount;
    int pad = pieceCount + 1;
    ObjectNode added = JSON.createObjectNode().put("<image>", image).put("<pad>", pad);
    Files.writeString(dir.resolve("added_tokens.json"), JSON.writeValueAsString(added), StandardCharsets.UTF_8);
    ObjectNode special = JSON.createObjectNode()
        .put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>").put("pad_token", "<pad>");
    Files.writeString(dir.resolve("special_tokens_map.json"), JSON.writeValueAsString(special), StandardCharsets.UTF_8);
    ObjectNode config = special.deepCopy().put("tokenizer_class", "LlamaTokenizer").put("legacy", false)
        .put("add_bos_token", true).put("add_eos_token", false).put("model_max_length", 2048);
    ObjectNode decoder = config.putObject("added_tokens_decoder");
    String[] names = {"<unk>", "<s>", "</s>"};
    for (int id = 0; id < names.length; id++) {
      decoder.putObject(String.valueOf(id)).put("content", names[id]).put("special", true);
    }
    decoder.putObject(String.valueOf(image)).put("content", "<image>").put("special", true);
    decoder.putObject(String.valueOf(pad)).put("content", "<pad>").put("special", true);
    Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config), StandardCharsets.UTF_8);
    return new LlamaVocabulary(pad + 1, 1, 2, pad, image);
  }

  /** Ids a LLaMA config needs: {@code vocab_size} counts the pieces and the two added tokens. */
  public record LlamaVocabulary(int vocabSize, int bosId, int eosId, int padId, int imageId) {}

  /**
   * A sentencepiece {@code ModelProto} in protobuf wire format, written by hand as the model module reads it
   * ({@code SentencePieceModel}): pieces (field 1), trainer spec (2: unigram, unk/bos/eos/pad ids), normalizer
   * spec (3: identity, no dummy prefix, whitespace kept and escaped, as LLaMA's).
   */
  private static final class SentencePieceProto {
    private final ByteArrayOutputStream pieces = new ByteArrayOutputStream();
    private int count;

    SentencePieceProto piece(String text, float score, int type) {
      ByteArrayOutputStream piece = new ByteArrayOutputStream();
      bytesField(piece, 1, text.getBytes(StandardCharsets.UTF_8));
      tag(piece, 2, 5);
      int bits = Float.floatToIntBits(score);
      for (int i = 0; i < 4; i++) {
        piece.write(bits >>> (8 * i) & 0xFF);
      }
      varintField(piece, 3, type);
      bytesField(pieces, 1, piece.toByteArray());
      count++;
      return this;
    }

    int pieceCount() {
      return count;
    }

    byte[] model() {
      ByteArrayOutputStream trainer = new ByteArrayOutputStream();
      varintField(trainer, 3, 1);
      varintField(trainer, 4, count);
      varintField(trainer, 40, 0);
      varintField(trainer, 41, 1);
      varintField(trainer, 42, 2);
      varintField(trainer, 43, -1);
      ByteArrayOutputStream normalizer = new ByteArrayOutputStream();
      bytesField(normalizer, 1, "identity".getBytes(StandardCharsets.UTF_8));
      varintField(normalizer, 3, 1);
      varintField(normalizer, 4, 0);
      varintField(normalizer, 5, 1);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(pieces.toByteArray());
      bytesField(out, 2, trainer.toByteArray());
      bytesField(out, 3, normalizer.toByteArray());
      return out.toByteArray();
    }

    private static void tag(ByteArrayOutputStream out, int field, int wireType) {
      varint(out, (long) field << 3 | wireType);
    }

    private static void varintField(ByteArrayOutputStream out, int field, long value) {
      tag(out, field, 0);
      varint(out, value);
    }

    private static void bytesField(ByteArrayOutputStream out, int field, byte[] value) {
      tag(out, field, 2);
      varint(out, value.length);
      out.writeBytes(value);
    }

    private static void varint(ByteArrayOutputStream out, long value) {
      long v = value;
      while ((v & ~0x7FL) != 0) {
        out.write((int) (v & 0x7F) | 0x80);
        v >>>= 7;
      }
      out.write((int) v);
    }
  }

  /** Ids BLIP's config needs: {@code vocab_size} counts [DEC] and [ENC]. */
  public record BertVocabulary(int wordPieceSize, int padId, int sepId, int decId) {
    public int vocabSize() {
      return wordPieceSize + 2;
    }
  }

  /** BPE as CLIP applies it: the lowest-ranked adjacent pair merges first, until none applies. */
  private static List<String> applyMerges(String word, List<String[]> merges) {
    List<String> symbols = new ArrayList<>();
    for (int i = 0; i < word.length(); i++) {
      symbols.add(i == word.length() - 1 ? word.charAt(i) + END_OF_WORD : String.valueOf(word.charAt(i)));
    }
    while (symbols.size() > 1) {
      int bestRank = Integer.MAX_VALUE;
      int at = -1;
      for (int i = 0; i + 1 < symbols.size(); i++) {
        for (int r = 0; r < Math.min(bestRank, merges.size()); r++) {
          if (merges.get(r)[0].equals(symbols.get(i)) && merges.get(r)[1].equals(symbols.get(i + 1))) {
            bestRank = r;
            at = i;
            break;
          }
        }
      }
      if (at < 0) {
        break;
      }
      symbols.set(at, symbols.get(at) + symbols.remove(at + 1));
    }
    return symbols;
  }

  /** GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to U+0100 onwards. */
  private static List<String> byteAlphabet() {
    List<String> out = new ArrayList<>();
    List<Integer> shifted = new ArrayList<>();
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      if (printable) {
        out.add(String.valueOf((char) b));
      } else {
        shifted.add(b);
      }
    }
    for (int i = 0; i < shifted.size(); i++) {
      out.add(String.valueOf((char) (256 + i)));
    }
    return out;
  }
}

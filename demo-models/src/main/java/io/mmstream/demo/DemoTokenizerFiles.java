package io.mmstream.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo models' tokenizer files, in the layouts the real checkpoints use: CLIP's byte-level BPE
 * ({@code vocab.json} + {@code merges.txt}) and BERT's WordPiece ({@code vocab.txt}) for BLIP.
 *
 * <p>The vocabularies are {@link DemoVocabulary}'s words. The BPE merges are derived here because no
 * Java library trains BPE: every byte stays in the alphabet (any text still tokenizes) and the
 * merges are chosen so that each demo word ends up a single token.
 */
public final class DemoTokenizerFiles {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String END_OF_WORD = "</w>";

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

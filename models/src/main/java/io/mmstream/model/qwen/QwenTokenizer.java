package io.mmstream.model.qwen;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Qwen's tokenizer as {@code tokenization_qwen.py} defines it: tiktoken byte-level BPE over the ranks of
 * {@code qwen.tiktoken} (one {@code base64(token) rank} per line), tiktoken's pre-tokenizer pattern, 3 + 205 + 9
 * special tokens numbered after the ranks, and the image rule: the text between {@code <img>} and {@code </img>} becomes
 * its UTF-8 bytes as ids (id == byte value), padded with {@code <imgpad>} to {@link #IMAGE_SPAN} ids.
 *
 * <p>Written here because no library on Maven Central reads {@code .tiktoken} files: jtokkit only ships OpenAI's
 * encodings built in (a custom one needs the rank map and pattern handed over, and per-call allowed-special sets and the
 * image-span rewriting would still be ours); the byte-pair merge itself is tiktoken's short lowest-rank-first loop.
 */
public final class QwenTokenizer {
  public static final String FILE_NAME = "qwen.tiktoken";

  /** tiktoken's {@code PAT_STR} of tokenization_qwen.py; {@code \s} and friends are Unicode-aware as in Rust's regex. */
  private static final Pattern PIECES = Pattern.compile(
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
          + "|\\s+(?!\\S)|\\s+",
      Pattern.UNICODE_CHARACTER_CLASS);

  public static final String END_OF_TEXT = "<|endoftext|>";
  public static final String IM_START = "<|im_start|>";
  public static final String IM_END = "<|im_end|>";
  public static final String IMAGE_START = "<img>";
  public static final String IMAGE_END = "</img>";
  public static final String IMAGE_PAD = "<imgpad>";
  /** The grounding and image tags: the only specials recognised inside chat roles and contents. */
  public static final Set<String> IMAGE_SPECIALS =
      Set.of("<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>", IMAGE_START, IMAGE_END, IMAGE_PAD);
  private static final List<String> IMAGE_SPECIALS_IN_ORDER =
      List.of("<ref>", "</ref>", "<box>", "</box>", "<quad>", "</quad>", IMAGE_START, IMAGE_END, IMAGE_PAD);
  private static final int EXTRA_TOKENS = 205;
  /** {@code IMG_TOKEN_SPAN}: ids between {@code <img>} and {@code </img>}, a constant of the original tokenizer. */
  public static final int IMAGE_SPAN = 256;

  /** Ranks keyed by their bytes, each byte one char of a Latin-1 string (a cheap hashable byte sequence). */
  private final Map<String, Integer> ranks;
  private final byte[][] tokenBytes;
  private final Map<String, Integer> specials;
  private final String[] specialText;
  private final int imageStartId;
  private final int imageEndId;
  private final int imagePadId;

  private QwenTokenizer(Map<String, Integer> ranks) {
    this.ranks = ranks;
    this.tokenBytes = new byte[ranks.size()][];
    for (Map.Entry<String, Integer> e : ranks.entrySet()) {
      int rank = e.getValue();
      if (rank < 0 || rank >= tokenBytes.length || tokenBytes[rank] != null) {
        throw new IllegalArgumentException(FILE_NAME + ": ranks are not 0.." + (tokenBytes.length - 1) + " each once");
      }
      tokenBytes[rank] = e.getKey().getBytes(StandardCharsets.ISO_8859_1);
    }
    List<String> names = new ArrayList<>(List.of(END_OF_TEXT, IM_START, IM_END));
    for (int i = 0; i < EXTRA_TOKENS; i++) {
      names.add("<|extra_" + i + "|>");
    }
    names.addAll(IMAGE_SPECIALS_IN_ORDER);
    this.specials = new LinkedHashMap<>();
    this.specialText = names.toArray(new String[0]);
    for (int i = 0; i < names.size(); i++) {
      specials.put(names.get(i), ranks.size() + i);
    }
    this.imageStartId = specials.get(IMAGE_START);
    this.imageEndId = specials.get(IMAGE_END);
    this.imagePadId = specials.get(IMAGE_PAD);
  }

  /** Reads {@code qwen.tiktoken} from a model directory. */
  public static QwenTokenizer load(Path modelDirectory) throws IOException {
    Path file = modelDirectory.resolve(FILE_NAME);
    Map<String, Integer> ranks = new HashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      String[] parts = line.trim().split(" ");
      if (parts.length != 2) {
        throw new IOException(file + ": line '" + line + "' is not 'base64 rank'");
      }
      byte[] token;
      try {
        token = Base64.getDecoder().decode(parts[0]);
      } catch (IllegalArgumentException e) {
        throw new IOException(file + ": bad base64 in line '" + line + "'", e);
      }
      ranks.put(new String(token, StandardCharsets.ISO_8859_1), Integer.parseInt(parts[1]));
    }
    return new QwenTokenizer(ranks);
  }

  /** Ranks plus special tokens (the model's {@code vocab_size} may be larger: padding rows). */
  public int size() {
    return tokenBytes.length + specialText.length;
  }

  public int id(String specialToken) {
    Integer id = specials.get(specialToken);
    if (id == null) {
      throw new IllegalArgumentException("not a special token: " + specialToken);
    }
    return id;
  }

  public int imageStartId() {
    return imageStartId;
  }

  public int imageEndId() {
    return imageEndId;
  }

  public int imagePadId() {
    return imagePadId;
  }

  /** {@code tokenizer.encode(text)} with every special token recognised (the original's default). */
  public long[] encode(String text) {
    return encode(text, specials.keySet());
  }

  /**
   * {@code tokenizer.encode(text, allowed_special=allowed)}: NFC-normalised, the allowed specials cut out, the rest
   * byte-pair encoded piece by piece (other special strings stay plain text), then every {@code <img>...</img>} span
   * rewritten as its bytes padded to {@link #IMAGE_SPAN}.
   */
  public long[] encode(String text, Set<String> allowed) {
    String normalized = Normalizer.normalize(text, Normalizer.Form.NFC);
    List<Integer> ids = new ArrayList<>();
    int from = 0;
    while (from < normalized.length()) {
      int at = -1;
      String found = null;
      for (String special : allowed) {
        int i = normalized.indexOf(special, from);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          found = special;
        }
      }
      int end = at < 0 ? normalized.length() : at;
      encodeOrdinary(normalized.substring(from, end), ids);
      if (found == null) {
        break;
      }
      ids.add(id(found));
      from = at + found.length();
    }
    return rewriteImageSpans(ids);
  }

  private void encodeOrdinary(String text, List<Integer> out) {
    Matcher m = PIECES.matcher(text);
    while (m.find()) {
      byte[] piece = m.group().getBytes(StandardCharsets.UTF_8);
      Integer whole = ranks.get(new String(piece, StandardCharsets.ISO_8859_1));
      if (whole != null) {
        out.add(whole);
      } else {
        bytePairMerge(piece, out);
      }
    }
  }

  /** tiktoken's merge: repeatedly join the adjacent pair whose concatenation has the lowest rank (leftmost on ties). */
  private void bytePairMerge(byte[] piece, List<Integer> out) {
    List<Integer> starts = new ArrayList<>();
    for (int i = 0; i <= piece.length; i++) {
      starts.add(i);
    }
    while (true) {
      int best = Integer.MAX_VALUE;
      int bestAt = -1;
      for (int i = 0; i + 2 < starts.size(); i++) {
        Integer rank = ranks.get(latin1(piece, starts.get(i), starts.get(i + 2)));
        if (rank != null && rank < best) {
          best = rank;
          bestAt = i;
        }
      }
      if (bestAt < 0) {
        break;
      }
      starts.remove(bestAt + 1);
    }
    for (int i = 0; i + 1 < starts.size(); i++) {
      Integer rank = ranks.get(latin1(piece, starts.get(i), starts.get(i + 1)));
      if (rank == null) {
        throw new IllegalStateException(FILE_NAME + " lacks a single byte: the ranks must cover all 256 bytes");
      }
      out.add(rank);
    }
  }

  private static String latin1(byte[] bytes, int from, int to) {
    return new String(bytes, from, to - from, StandardCharsets.ISO_8859_1);
  }

  /** The original's {@code _encode_imgurl}: a span's tokens joined to bytes, one id per byte, padded. */
  private long[] rewriteImageSpans(List<Integer> ids) {
    List<Long> out = new ArrayList<>();
    int i = 0;
    while (i < ids.size()) {
      int id = ids.get(i);
      if (id != imageStartId) {
        out.add((long) id);
        i++;
        continue;
      }
      int end = ids.subList(i, ids.size()).indexOf(imageEndId);
      if (end < 0) {
        throw new IllegalArgumentException("unclosed " + IMAGE_START + " in the text");
      }
      end += i;
      ByteArrayOutputStream path = new ByteArrayOutputStream();
      for (int j = i + 1; j < end; j++) {
        int inner = ids.get(j);
        if (inner >= tokenBytes.length) {
          throw new IllegalArgumentException("special token " + specialText[inner - tokenBytes.length] + " inside "
              + IMAGE_START + "..." + IMAGE_END);
        }
        path.writeBytes(tokenBytes[inner]);
      }
      byte[] bytes = path.toByteArray();
      if (bytes.length > IMAGE_SPAN) {
        throw new IllegalArgumentException("the content of " + IMAGE_START + "..." + IMAGE_END + " is " + bytes.length
            + " bytes, more than " + IMAGE_SPAN);
      }
      out.add((long) imageStartId);
      for (byte b : bytes) {
        out.add((long) (b & 0xFF));
      }
      for (int j = bytes.length; j < IMAGE_SPAN; j++) {
        out.add((long) imagePadId);
      }
      out.add((long) imageEndId);
      i = end + 1;
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  /**
   * {@code tokenizer.decode(ids, errors="replace")}: specials as their text, image spans as {@code <img>path</img>}.
   * Ids past the tokenizer (the model's padding rows) have no text and decode to nothing.
   */
  public String decode(long[] ids) {
    return new String(decodeBytes(ids), StandardCharsets.UTF_8);
  }

  /** The bytes {@link #decode} reads as UTF-8 (a streaming caller waits for a character's last byte). */
  public byte[] decodeBytes(long[] ids) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    while (i < ids.length) {
      long id = ids[i];
      int close = id == imageStartId ? indexOf(ids, imageEndId, i) : -1;
      if (close >= 0) {
        out.writeBytes(IMAGE_START.getBytes(StandardCharsets.UTF_8));
        for (int j = i + 1; j < close && ids[j] != imagePadId; j++) {
          out.write((int) ids[j]);
        }
        out.writeBytes(IMAGE_END.getBytes(StandardCharsets.UTF_8));
        i = close + 1;
        continue;
      }
      if (id >= 0 && id < tokenBytes.length) {
        out.writeBytes(tokenBytes[(int) id]);
      } else if (id >= tokenBytes.length && id < size()) {
        out.writeBytes(specialText[(int) id - tokenBytes.length].getBytes(StandardCharsets.UTF_8));
      }
      i++;
    }
    return out.toByteArray();
  }

  private static int indexOf(long[] ids, long id, int from) {
    for (int i = from; i < ids.length; i++) {
      if (ids[i] == id) {
        return i;
      }
    }
    return -1;
  }
}

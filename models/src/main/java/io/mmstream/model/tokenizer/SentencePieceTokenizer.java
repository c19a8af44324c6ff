package io.mmstream.model.tokenizer;

import io.mmstream.model.tokenizer.SentencePieceModel.ModelType;
import io.mmstream.model.tokenizer.SentencePieceModel.Piece;
import io.mmstream.model.tokenizer.SentencePieceModel.PieceType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Google sentencepiece's encoder and decoder over a {@link SentencePieceModel}, reproducing {@code
 * SentencePieceProcessor.encode / decode}: normalization (the precompiled character map when the
 * model has one, {@code remove_extra_whitespaces}, {@code add_dummy_prefix}, whitespace escaped to
 * {@code ▁}), then BPE (merge the adjacent pair whose piece scores highest, leftmost first) or
 * unigram (Viterbi over piece scores), user-defined pieces kept whole, and {@code <0xNN>} byte pieces
 * for characters outside the vocabulary when the model has {@code byte_fallback}.
 *
 * <p>API for the model families: {@link #encode(String)} / {@link #encodeAsPieces(String)} with the
 * model's options, {@link #encode(String, boolean)} to switch the dummy prefix off (HF's slow
 * LlamaTokenizer with {@code legacy=False} and ChatGLM's rules are layered that way), {@link
 * #decode(int[])}, {@link #decodePieces(List)}, and raw vocabulary access ({@link #pieceToId},
 * {@link #idToPiece}, {@link #pieceCount}, {@link #score}, {@link #type}, {@link #unkId} / {@link
 * #bosId} / {@link #eosId} / {@link #padId}). Written by hand: see {@link SentencePieceModel}.
 */
public final class SentencePieceTokenizer {

  /** sentencepiece's penalty for the unknown node of the unigram lattice. */
  private static final float UNK_PENALTY = 10f;
  private static final String SPACE = "\u2581";

  private final SentencePieceModel model;
  private final Map<String, Integer> ids = new HashMap<>();
  /** Pieces the model may produce from text: NORMAL, USER_DEFINED and UNUSED (as sentencepiece). */
  private final Map<String, Integer> textPieces = new HashMap<>();
  private final List<String> userDefined = new ArrayList<>();
  private final int[] byteIds = new int[256];
  private final int maxPieceChars;
  private final float minScore;
  private final float maxScore;
  private final PrecompiledCharsMap charsMap;

  public SentencePieceTokenizer(SentencePieceModel model) {
    if (model.modelType() != ModelType.BPE && model.modelType() != ModelType.UNIGRAM) {
      throw new IllegalArgumentException("sentencepiece model type " + model.modelType() + " is not supported");
    }
    this.model = model;
    this.charsMap = model.charsMap();
    Arrays.fill(byteIds, -1);
    int longest = 1;
    float min = Float.MAX_VALUE;
    float max = -Float.MAX_VALUE;
    List<Piece> pieces = model.pieces();
    for (int id = 0; id < pieces.size(); id++) {
      Piece p = pieces.get(id);
      ids.putIfAbsent(p.text(), id);
      switch (p.type()) {
        case NORMAL, USER_DEFINED, UNUSED -> {
          textPieces.putIfAbsent(p.text(), id);
          longest = Math.max(longest, p.text().codePointCount(0, p.text().length()));
          if (p.type() == PieceType.USER_DEFINED) {
            userDefined.add(p.text());
          }
          if (p.type() == PieceType.NORMAL) {
            min = Math.min(min, p.score());
            max = Math.max(max, p.score());
          }
        }
        case BYTE -> {
          if (p.text().length() == 6 && p.text().startsWith("<0x") && p.text().endsWith(">")) {
            byteIds[Integer.parseInt(p.text().substring(3, 5), 16)] = id;
          }
        }
        default -> {}
      }
    }
    this.maxPieceChars = longest;
    this.minScore = min == Float.MAX_VALUE ? 0 : min;
    this.maxScore = max == -Float.MAX_VALUE ? 0 : max;
    userDefined.sort((a, b) -> b.length() - a.length());
  }

  public static SentencePieceTokenizer load(Path file) throws IOException {
    return new SentencePieceTokenizer(SentencePieceModel.load(file));
  }

  public SentencePieceModel model() {
    return model;
  }

  public int pieceCount() {
    return model.pieces().size();
  }

  /** The id of {@code piece}, or the unknown id when the vocabulary lacks it (as sentencepiece's PieceToId). */
  public int pieceToId(String piece) {
    return ids.getOrDefault(piece, model.unkId());
  }

  /** Whether {@code piece} is in the vocabulary (of any type). */
  public boolean hasPiece(String piece) {
    return ids.containsKey(piece);
  }

  public String idToPiece(int id) {
    return model.pieces().get(id).text();
  }

  public float score(int id) {
    return model.pieces().get(id).score();
  }

  public PieceType type(int id) {
    return model.pieces().get(id).type();
  }

  public int unkId() {
    return model.unkId();
  }

  public int bosId() {
    return model.bosId();
  }

  public int eosId() {
    return model.eosId();
  }

  public int padId() {
    return model.padId();
  }

  /** sentencepiece's encode with the model's own options. */
  public int[] encode(String text) {
    return encode(text, model.addDummyPrefix());
  }

  /** encode with the dummy prefix ({@code ▁} before the text) switched on or off. */
  public int[] encode(String text, boolean addDummyPrefix) {
    List<Integer> out = new ArrayList<>();
    for (String piece : segment(normalize(text, addDummyPrefix))) {
      Integer id = textPieces.get(piece);
      if (id != null) {
        out.add(id);
      } else if (model.byteFallback()) {
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
          out.add(byteIds[b & 0xFF] >= 0 ? byteIds[b & 0xFF] : model.unkId());
        }
      } else {
        out.add(model.unkId());
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The pieces {@link #encode(String)} gives, as text (byte-fallback pieces as {@code <0xNN>}). */
  public List<String> encodeAsPieces(String text) {
    return encodeAsPieces(text, model.addDummyPrefix());
  }

  public List<String> encodeAsPieces(String text, boolean addDummyPrefix) {
    List<String> pieces = new ArrayList<>();
    for (int id : encode(text, addDummyPrefix)) {
      pieces.add(idToPiece(id));
    }
    return pieces;
  }

  /**
   * sentencepiece's decode: control pieces vanish, unknown pieces become the unknown surface,
   * consecutive byte pieces are joined and read as UTF-8 (each invalid byte a U+FFFD), {@code ▁}
   * becomes a space, and the dummy-prefix space of the first piece is dropped.
   */
  public String decode(int[] ids) {
    List<String> pieces = new ArrayList<>(ids.length);
    for (int id : ids) {
      pieces.add(idToPiece(id));
    }
    return decodePieces(pieces);
  }

  /** decode of pieces given as text; a piece outside the vocabulary is decoded as written. */
  public String decodePieces(List<String> pieces) {
    return decodePieces(pieces, model.addDummyPrefix() && !model.treatWhitespaceAsSuffix());
  }

  /** decodePieces, dropping the first piece's leading {@code ▁} only when {@code removeDummyPrefix}. */
  public String decodePieces(List<String> pieces, boolean removeDummyPrefix) {
    StringBuilder out = new StringBuilder();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    boolean first = true;
    for (String piece : pieces) {
      Integer id = ids.get(piece);
      PieceType type = id == null ? PieceType.NORMAL : model.pieces().get(id).type();
      if (type == PieceType.BYTE) {
        bytes.write(Integer.parseInt(piece.substring(3, 5), 16));
        continue;
      }
      first = flushBytes(bytes, out, first);
      String surface =
          switch (type) {
            case CONTROL -> "";
            case UNKNOWN -> model.unkSurface();
            default -> piece;
          };
      if (first && removeDummyPrefix && type != PieceType.CONTROL && type != PieceType.UNKNOWN
          && surface.startsWith(SPACE)) {
        surface = surface.substring(SPACE.length());
      }
      if (type != PieceType.CONTROL) {
        first = false; // only the first piece's dummy prefix goes, even when that piece is "▁" alone
      }
      out.append(surface.replace(SPACE, " "));
    }
    flushBytes(bytes, out, first);
    return out.toString();
  }

  private static boolean flushBytes(ByteArrayOutputStream bytes, StringBuilder out, boolean first) {
    if (bytes.size() == 0) {
      return first;
    }
    out.append(decodeUtf8PerByte(bytes.toByteArray()));
    bytes.reset();
    return false;
  }

  /** UTF-8 with every byte of an invalid sequence replaced by U+FFFD, as sentencepiece does. */
  private static String decodeUtf8PerByte(byte[] b) {
    StringBuilder s = new StringBuilder();
    int i = 0;
    while (i < b.length) {
      int length = validSequenceLength(b, i);
      if (length == 0) {
        s.append('\uFFFD');
        i++;
      } else {
        s.append(new String(b, i, length, StandardCharsets.UTF_8));
        i += length;
      }
    }
    return s.toString();
  }

  private static int validSequenceLength(byte[] b, int i) {
    int lead = b[i] & 0xFF;
    int length = lead < 0x80 ? 1 : lead >= 0xC2 && lead < 0xE0 ? 2 : lead >= 0xE0 && lead < 0xF0 ? 3
        : lead >= 0xF0 && lead < 0xF5 ? 4 : 0;
    if (length == 0 || i + length > b.length) {
      return 0;
    }
    try {
      StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b, i, length));
      return length;
    } catch (CharacterCodingException e) {
      return 0;
    }
  }

  /** sentencepiece's Normalizer::Normalize. */
  String normalize(String text, boolean addDummyPrefix) {
    boolean removeExtra = model.removeExtraWhitespaces();
    String space = model.escapeWhitespaces() ? SPACE : " ";
    int at = 0;
    if (removeExtra) {
      while (at < text.length()) {
        String[] p = normalizePrefix(text, at);
        if (!p[0].equals(" ")) {
          break;
        }
        at += p[1].length();
      }
    }
    if (at >= text.length()) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    boolean suffix = model.treatWhitespaceAsSuffix();
    if (!suffix && addDummyPrefix) {
      out.append(space);
    }
    boolean previousSpace = removeExtra;
    while (at < text.length()) {
      String[] p = normalizePrefix(text, at);
      String normalized = p[0];
      if (previousSpace) {
        int k = 0;
        while (k < normalized.length() && normalized.charAt(k) == ' ') {
          k++;
        }
        normalized = normalized.substring(k);
      }
      if (!normalized.isEmpty()) {
        out.append(model.escapeWhitespaces() ? normalized.replace(" ", SPACE) : normalized);
        previousSpace = normalized.endsWith(" ");
      }
      at += p[1].length();
      if (!removeExtra) {
        previousSpace = false;
      }
    }
    if (removeExtra) {
      while (out.length() >= space.length() && out.substring(out.length() - space.length()).equals(space)) {
        out.setLength(out.length() - space.length());
      }
    }
    if (suffix && addDummyPrefix) {
      out.append(space);
    }
    return out.toString();
  }

  /** {normalized text, consumed input} for the longest rule at {@code at}. */
  private String[] normalizePrefix(String text, int at) {
    for (String symbol : userDefined) {
      if (text.startsWith(symbol, at)) {
        return new String[] {symbol, symbol};
      }
    }
    if (charsMap != null) {
      String[] rule = charsMap.longestMatch(text, at);
      if (rule != null) {
        return rule;
      }
    }
    String one = new String(Character.toChars(text.codePointAt(at)));
    return new String[] {one, one};
  }

  /** The model's segmentation of normalized text into piece strings (unknown ones included). */
  private List<String> segment(String normalized) {
    if (normalized.isEmpty()) {
      return List.of();
    }
    return model.modelType() == ModelType.BPE ? bpe(normalized) : unigram(normalized);
  }

  /** Initial symbols: user-defined pieces whole (frozen), otherwise one code point each. */
  private List<String[]> initialSymbols(String text) {
    List<String[]> symbols = new ArrayList<>();
    int at = 0;
    outer:
    while (at < text.length()) {
      for (String symbol : userDefined) {
        if (text.startsWith(symbol, at)) {
          symbols.add(new String[] {symbol, "frozen"});
          at += symbol.length();
          continue outer;
        }
      }
      int next = at + Character.charCount(text.codePointAt(at));
      symbols.add(new String[] {text.substring(at, next), null});
      at = next;
    }
    return symbols;
  }

  private record Pair(int left, int right, float score, String piece) {}

  private List<String> bpe(String text) {
    List<String[]> initial = initialSymbols(text);
    int n = initial.size();
    String[] piece = new String[n];
    boolean[] frozen = new boolean[n];
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      piece[i] = initial.get(i)[0];
      frozen[i] = initial.get(i)[1] != null;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    PriorityQueue<Pair> agenda =
        new PriorityQueue<>((a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
    Map<String, String[]> reverseMerges = new HashMap<>();
    for (int i = 1; i < n; i++) {
      offerPair(agenda, reverseMerges, piece, frozen, i - 1, i);
    }
    while (!agenda.isEmpty()) {
      Pair top = agenda.poll();
      if (piece[top.left] == null || piece[top.right] == null
          || !(piece[top.left] + piece[top.right]).equals(top.piece)) {
        continue; // stale: one side was merged since
      }
      piece[top.left] = top.piece;
      piece[top.right] = null;
      next[top.left] = next[top.right];
      if (next[top.right] >= 0) {
        prev[next[top.right]] = top.left;
      }
      if (prev[top.left] >= 0) {
        offerPair(agenda, reverseMerges, piece, frozen, prev[top.left], top.left);
      }
      if (next[top.left] >= 0) {
        offerPair(agenda, reverseMerges, piece, frozen, top.left, next[top.left]);
      }
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i >= 0 && i < n; i = next[i]) {
      resegment(piece[i], reverseMerges, out);
    }
    return out;
  }

  private void offerPair(
      PriorityQueue<Pair> agenda, Map<String, String[]> reverseMerges, String[] piece, boolean[] frozen, int l, int r) {
    if (frozen[l] || frozen[r]) {
      return;
    }
    String merged = piece[l] + piece[r];
    Integer id = textPieces.get(merged);
    if (id == null) {
      return;
    }
    Piece p = model.pieces().get(id);
    agenda.add(new Pair(l, r, p.score(), merged));
    if (p.type() == PieceType.UNUSED) {
      reverseMerges.put(merged, new String[] {piece[l], piece[r]});
    }
  }

  /** An UNUSED piece may serve as a merge step but is split back into its parts on output. */
  private void resegment(String piece, Map<String, String[]> reverseMerges, List<String> out) {
    Integer id = textPieces.get(piece);
    String[] parts = reverseMerges.get(piece);
    if (id != null && model.pieces().get(id).type() == PieceType.UNUSED && parts != null) {
      resegment(parts[0], reverseMerges, out);
      resegment(parts[1], reverseMerges, out);
    } else {
      out.add(piece);
    }
  }

  private List<String> unigram(String text) {
    int[] starts = text.codePoints().map(Character::charCount).toArray();
    int n = starts.length;
    int[] offset = new int[n + 1];
    for (int i = 0; i < n; i++) {
      offset[i + 1] = offset[i] + starts[i];
    }
    double[] best = new double[n + 1];
    int[] from = new int[n + 1];
    int[] pieceId = new int[n + 1];
    Arrays.fill(from, -1);
    float unkScore = minScore - UNK_PENALTY;
    for (int begin = 0; begin < n; begin++) {
      if (begin > 0 && from[begin] < 0) {
        continue;
      }
      boolean singleChar = false;
      for (int length = 1; length <= maxPieceChars && begin + length <= n; length++) {
        String candidate = text.substring(offset[begin], offset[begin + length]);
        Integer id = textPieces.get(candidate);
        if (id == null) {
          continue;
        }
        Piece p = model.pieces().get(id);
        if (p.type() == PieceType.UNUSED) {
          continue;
        }
        float score = p.type() == PieceType.USER_DEFINED ? length * maxScore - 0.1f : p.score();
        relax(best, from, pieceId, begin, begin + length, best[begin] + score, id);
        singleChar |= length == 1;
      }
      if (!singleChar) {
        relax(best, from, pieceId, begin, begin + 1, best[begin] + unkScore, -1);
      }
    }
    List<String> reversed = new ArrayList<>();
    List<Boolean> unknown = new ArrayList<>();
    for (int end = n; end > 0; end = from[end]) {
      reversed.add(text.substring(offset[from[end]], offset[end]));
      unknown.add(pieceId[end] < 0);
    }
    List<String> out = new ArrayList<>();
    boolean previousUnknown = false;
    for (int i = reversed.size() - 1; i >= 0; i--) {
      // consecutive unknown characters become one unknown piece, as sentencepiece's unigram does
      if (unknown.get(i) && previousUnknown) {
        out.set(out.size() - 1, out.get(out.size() - 1) + reversed.get(i));
      } else {
        out.add(reversed.get(i));
      }
      previousUnknown = unknown.get(i);
    }
    return out;
  }

  /** Keeps the first best path into {@code end}: candidates arrive by earlier start, then shorter piece. */
  private static void relax(double[] best, int[] from, int[] pieceId, int begin, int end, double score, int id) {
    if (from[end] < 0 || score > best[end]) {
      best[end] = score;
      from[end] = begin;
      pieceId[end] = id;
    }
  }
}

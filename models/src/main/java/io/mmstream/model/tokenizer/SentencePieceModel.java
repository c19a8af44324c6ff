package io.mmstream.model.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The contents of a sentencepiece {@code .model} file (a serialized {@code ModelProto}): the pieces
 * with score and type, and the trainer / normalizer options that encoding depends on.
 *
 * <p>Parsed by hand from the protobuf wire format: the fields needed are a handful of varints,
 * floats and strings, and the Java library that wraps Google's sentencepiece
 * (ai.djl.sentencepiece:sentencepiece 0.36.0) does not resolve from Maven Central here and exposes
 * neither scores, piece types nor the normalizer options. Field numbers follow
 * sentencepiece_model.proto; unknown fields are skipped.
 */
public final class SentencePieceModel {

  /** sentencepiece's piece types (proto enum values 1..6). */
  public enum PieceType {
    NORMAL,
    UNKNOWN,
    CONTROL,
    USER_DEFINED,
    UNUSED,
    BYTE
  }

  /** trainer_spec.model_type (proto enum values 1..4). */
  public enum ModelType {
    UNIGRAM,
    BPE,
    WORD,
    CHAR
  }

  /** One vocabulary entry; its id is its index. */
  public record Piece(String text, float score, PieceType type) {}

  private final List<Piece> pieces;
  private final ModelType modelType;
  private final boolean byteFallback;
  private final int unkId;
  private final int bosId;
  private final int eosId;
  private final int padId;
  private final String unkSurface;
  private final boolean treatWhitespaceAsSuffix;
  private final String normalizerName;
  private final PrecompiledCharsMap charsMap;
  private final boolean addDummyPrefix;
  private final boolean removeExtraWhitespaces;
  private final boolean escapeWhitespaces;

  private SentencePieceModel(Builder b) {
    this.pieces = List.copyOf(b.pieces);
    this.modelType = b.modelType;
    this.byteFallback = b.byteFallback;
    this.unkId = b.unkId;
    this.bosId = b.bosId;
    this.eosId = b.eosId;
    this.padId = b.padId;
    this.unkSurface = b.unkSurface;
    this.treatWhitespaceAsSuffix = b.treatWhitespaceAsSuffix;
    this.normalizerName = b.normalizerName;
    this.charsMap = b.charsMap;
    this.addDummyPrefix = b.addDummyPrefix;
    this.removeExtraWhitespaces = b.removeExtraWhitespaces;
    this.escapeWhitespaces = b.escapeWhitespaces;
  }

  public static SentencePieceModel load(Path file) throws IOException {
    try {
      return parse(Files.readAllBytes(file));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": not a sentencepiece model: " + e.getMessage(), e);
    }
  }

  /** Parses a serialized ModelProto; a malformed one is an IllegalArgumentException. */
  public static SentencePieceModel parse(byte[] bytes) {
    Builder b = new Builder();
    ProtoReader model = new ProtoReader(bytes, 0, bytes.length);
    while (model.hasMore()) {
      int tag = model.tag();
      switch (tag) {
        case 1 << 3 | 2 -> b.pieces.add(piece(model.message()));
        case 2 << 3 | 2 -> trainerSpec(model.message(), b);
        case 3 << 3 | 2 -> normalizerSpec(model.message(), b);
        default -> model.skip(tag);
      }
    }
    if (b.pieces.isEmpty()) {
      throw new IllegalArgumentException("no pieces");
    }
    return new SentencePieceModel(b);
  }

  private static Piece piece(ProtoReader r) {
    String text = "";
    float score = 0;
    int type = 1;
    while (r.hasMore()) {
      int tag = r.tag();
      switch (tag) {
        case 1 << 3 | 2 -> text = r.string();
        case 2 << 3 | 5 -> score = r.float32();
        case 3 << 3 -> type = (int) r.varint();
        default -> r.skip(tag);
      }
    }
    if (type < 1 || type > PieceType.values().length) {
      throw new IllegalArgumentException("piece '" + text + "' has type " + type);
    }
    return new Piece(text, score, PieceType.values()[type - 1]);
  }

  private static void trainerSpec(ProtoReader r, Builder b) {
    while (r.hasMore()) {
      int tag = r.tag();
      switch (tag) {
        case 3 << 3 -> {
          int type = (int) r.varint();
          if (type < 1 || type > ModelType.values().length) {
            throw new IllegalArgumentException("model_type " + type);
          }
          b.modelType = ModelType.values()[type - 1];
        }
        case 24 << 3 -> b.treatWhitespaceAsSuffix = r.varint() != 0;
        case 35 << 3 -> b.byteFallback = r.varint() != 0;
        case 40 << 3 -> b.unkId = (int) r.varint();
        case 41 << 3 -> b.bosId = (int) r.varint();
        case 42 << 3 -> b.eosId = (int) r.varint();
        case 43 << 3 -> b.padId = (int) r.varint();
        case 44 << 3 | 2 -> b.unkSurface = r.string();
        default -> r.skip(tag);
      }
    }
  }

  private static void normalizerSpec(ProtoReader r, Builder b) {
    while (r.hasMore()) {
      int tag = r.tag();
      switch (tag) {
        case 1 << 3 | 2 -> b.normalizerName = r.string();
        case 2 << 3 | 2 -> {
          byte[] map = r.bytes();
          b.charsMap = map.length == 0 ? null : PrecompiledCharsMap.parse(map);
        }
        case 3 << 3 -> b.addDummyPrefix = r.varint() != 0;
        case 4 << 3 -> b.removeExtraWhitespaces = r.varint() != 0;
        case 5 << 3 -> b.escapeWhitespaces = r.varint() != 0;
        default -> r.skip(tag);
      }
    }
  }

  /** Proto defaults, as sentencepiece_model.proto declares them. */
  private static final class Builder {
    final List<Piece> pieces = new ArrayList<>();
    ModelType modelType = ModelType.UNIGRAM;
    boolean byteFallback;
    int unkId = 0;
    int bosId = 1;
    int eosId = 2;
    int padId = -1;
    String unkSurface = " \u2047 ";
    boolean treatWhitespaceAsSuffix;
    String normalizerName = "";
    PrecompiledCharsMap charsMap;
    boolean addDummyPrefix = true;
    boolean removeExtraWhitespaces = true;
    boolean escapeWhitespaces = true;
  }

  /** Protobuf wire format over a byte range: varints, fixed32, length-delimited fields. */
  private static final class ProtoReader {
    private final byte[] bytes;
    private int position;
    private final int end;

    ProtoReader(byte[] bytes, int start, int end) {
      this.bytes = bytes;
      this.position = start;
      this.end = end;
    }

    boolean hasMore() {
      return position < end;
    }

    int tag() {
      return (int) varint();
    }

    long varint() {
      long value = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (position >= end) {
          throw new IllegalArgumentException("truncated varint");
        }
        byte b = bytes[position++];
        value |= (long) (b & 0x7F) << shift;
        if (b >= 0) {
          return value;
        }
      }
      throw new IllegalArgumentException("varint too long");
    }

    float float32() {
      require(4);
      int bits = (bytes[position] & 0xFF) | (bytes[position + 1] & 0xFF) << 8
          | (bytes[position + 2] & 0xFF) << 16 | (bytes[position + 3] & 0xFF) << 24;
      position += 4;
      return Float.intBitsToFloat(bits);
    }

    ProtoReader message() {
      int length = length();
      ProtoReader inner = new ProtoReader(bytes, position, position + length);
      position += length;
      return inner;
    }

    byte[] bytes() {
      int length = length();
      byte[] out = Arrays.copyOfRange(bytes, position, position + length);
      position += length;
      return out;
    }

    String string() {
      int length = length();
      String s = new String(bytes, position, length, StandardCharsets.UTF_8);
      position += length;
      return s;
    }

    private int length() {
      long length = varint();
      if (length < 0 || length > end - position) {
        throw new IllegalArgumentException("field length " + length + " past the end");
      }
      return (int) length;
    }

    private void require(int n) {
      if (end - position < n) {
        throw new IllegalArgumentException("truncated field");
      }
    }

    void skip(int tag) {
      switch (tag & 7) {
        case 0 -> varint();
        case 1 -> {
          require(8);
          position += 8;
        }
        case 2 -> {
          int length = length(); // read first: it moves position past the length varint
          position += length;
        }
        case 5 -> {
          require(4);
          position += 4;
        }
        default -> throw new IllegalArgumentException("wire type " + (tag & 7));
      }
    }
  }

  public List<Piece> pieces() {
    return pieces;
  }

  public ModelType modelType() {
    return modelType;
  }

  public boolean byteFallback() {
    return byteFallback;
  }

  public int unkId() {
    return unkId;
  }

  /** -1 when the model has none. */
  public int bosId() {
    return bosId;
  }

  /** -1 when the model has none. */
  public int eosId() {
    return eosId;
  }

  /** -1 when the model has none. */
  public int padId() {
    return padId;
  }

  /** What an unknown piece decodes to (" ⁇ " by default). */
  public String unkSurface() {
    return unkSurface;
  }

  public boolean treatWhitespaceAsSuffix() {
    return treatWhitespaceAsSuffix;
  }

  /** normalizer_spec.name: "identity", "nmt_nfkc", ... */
  public String normalizerName() {
    return normalizerName;
  }

  /** The normalizer's precompiled character map (NFKC-style rules); null for the identity normalizer. */
  PrecompiledCharsMap charsMap() {
    return charsMap;
  }

  public boolean hasCharsMap() {
    return charsMap != null;
  }

  public boolean addDummyPrefix() {
    return addDummyPrefix;
  }

  public boolean removeExtraWhitespaces() {
    return removeExtraWhitespaces;
  }

  public boolean escapeWhitespaces() {
    return escapeWhitespaces;
  }
}

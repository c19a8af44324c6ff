package io.mmstream.model.tokenizer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * sentencepiece's {@code precompiled_charsmap}: a Darts-clone double-array trie over UTF-8 input
 * whose leaf values index NUL-terminated replacement strings. Layout: uint32 trie size in bytes,
 * the trie's uint32 units, then the replacement blob. Lookup is the longest common prefix, as
 * sentencepiece's Normalizer::NormalizePrefix does.
 */
final class PrecompiledCharsMap {
  private final int[] units;
  private final byte[] replacements;

  private PrecompiledCharsMap(int[] units, byte[] replacements) {
    this.units = units;
    this.replacements = replacements;
  }

  static PrecompiledCharsMap parse(byte[] blob) {
    ByteBuffer b = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
    if (blob.length < 4) {
      throw new IllegalArgumentException("precompiled_charsmap too short");
    }
    int trieBytes = b.getInt();
    if (trieBytes < 0 || trieBytes % 4 != 0 || trieBytes > blob.length - 4) {
      throw new IllegalArgumentException("precompiled_charsmap trie size " + trieBytes);
    }
    int[] units = new int[trieBytes / 4];
    for (int i = 0; i < units.length; i++) {
      units[i] = b.getInt();
    }
    byte[] replacements = new byte[b.remaining()];
    b.get(replacements);
    return new PrecompiledCharsMap(units, replacements);
  }

  /** {replacement, consumed input} of the longest rule matching {@code text} at {@code at}, or null. */
  String[] longestMatch(String text, int at) {
    int end = Math.min(text.length(), at + 64);
    byte[] key = text.substring(at, end).getBytes(StandardCharsets.UTF_8);
    int longestLength = 0;
    int longestValue = 0;
    if (units.length == 0) {
      return null;
    }
    int node = offset(units[0]);
    for (int i = 0; i < key.length; i++) {
      int c = key[i] & 0xFF;
      node ^= c;
      if (node < 0 || node >= units.length) {
        break;
      }
      int unit = units[node];
      if ((unit & (0x80000000 | 0xFF)) != c) {
        break;
      }
      node ^= offset(unit);
      if (((unit >>> 8) & 1) == 1 && node >= 0 && node < units.length) {
        longestLength = i + 1;
        longestValue = units[node] & 0x7FFFFFFF;
      }
    }
    if (longestLength == 0 || longestValue >= replacements.length) {
      return null;
    }
    int stop = longestValue;
    while (stop < replacements.length && replacements[stop] != 0) {
      stop++;
    }
    String replacement = new String(replacements, longestValue, stop - longestValue, StandardCharsets.UTF_8);
    // the match is a whole number of UTF-8 characters of the input: map its byte length back to chars
    String consumed = new String(key, 0, longestLength, StandardCharsets.UTF_8);
    if (!text.startsWith(consumed, at)) {
      return null;
    }
    return new String[] {replacement, consumed};
  }

  private static int offset(int unit) {
    return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
  }
}

package io.mmstream.image;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An address block such as {@code 10.0.0.0/8} or {@code fc00::/7}. Written by hand: the JDK has no
 * CIDR type and the guard needs only prefix matching on literal addresses.
 */
public record Cidr(byte[] network, int prefixLength, String text) {

  /** Parses {@code address/prefix} (a bare address means the single host). Never resolves names. */
  public static Cidr parse(String text) {
    String[] parts = text.trim().split("/", 2);
    byte[] address = literal(parts[0]);
    int prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : address.length * 8;
    if (prefix < 0 || prefix > address.length * 8) {
      throw new IllegalArgumentException("bad prefix length in " + text);
    }
    return new Cidr(address, prefix, text.trim());
  }

  public boolean contains(InetAddress address) {
    byte[] a = address.getAddress();
    if (a.length != network.length) {
      return false;
    }
    int full = prefixLength / 8;
    for (int i = 0; i < full; i++) {
      if (a[i] != network[i]) {
        return false;
      }
    }
    int rest = prefixLength % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xFF << (8 - rest)) & 0xFF;
    return (a[full] & mask) == (network[full] & mask);
  }

  private static byte[] literal(String s) {
    boolean looksLiteral = s.contains(":") || s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    if (!looksLiteral) {
      throw new IllegalArgumentException("not an IP address: " + s);
    }
    try {
      return InetAddress.getByName(s).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address: " + s, e);
    }
  }

  @Override
  public String toString() {
    return text;
  }
}

package io.mmstream.image;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Refuses hosts that resolve to addresses an image fetch must not reach: loopback, private (RFC 1918),
 * link-local (169.254/16 with the cloud metadata endpoint 169.254.169.254, fe80::/10), carrier-grade
 * NAT (100.64/10), unique-local IPv6 (fc00::/7 with AWS's fd00:ec2::254), unspecified, multicast,
 * broadcast and reserved blocks, and IPv6 forms that embed an IPv4 address. A host is refused when
 * ANY of its addresses is forbidden, so a DNS answer that mixes a public and a private address does
 * not get through. Allow-listed CIDRs are exempt. (IPv4-mapped IPv6 addresses need no entry: the
 * JDK turns {@code ::ffff:a.b.c.d} into the IPv4 address.)
 *
 * <p>IPv4 literals must be canonical: four decimal parts without leading zeros. The JDK reads
 * {@code 0177.0.0.1} as 177.0.0.1 while curl and browsers (inet_aton) read 127.0.0.1, and it does not
 * read {@code 0x7f.0.0.1}, {@code 2130706433} or {@code 127.1} as addresses at all, so such a URI names
 * different hosts to different readers: it is refused ({@code NON_CANONICAL_ADDRESS}) before any lookup.
 *
 * <p>DNS rebinding: {@link ImageFetcher} connects through this guard's answer (it is the HTTP
 * client's DNS resolver), so the addresses that were checked are the only ones it can connect to; a
 * second lookup that could return another address never happens.
 */
public final class AddressGuard {

  /** Name resolution; the JDK's resolver in production, a scripted one in tests (several addresses, rebinding). */
  @FunctionalInterface
  public interface Resolver {
    Resolver SYSTEM = InetAddress::getAllByName;

    InetAddress[] resolve(String host) throws UnknownHostException;
  }

  private static final List<Cidr> FORBIDDEN = List.of(
      "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
      "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
      "224.0.0.0/4", "240.0.0.0/4",
      "::/128", "::1/128", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
      "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8")
      .stream().map(Cidr::parse).toList();

  /** A host inet_aton would read as an IPv4 address: one to four parts, each decimal, octal (0...) or hex (0x...). */
  private static final Pattern NUMERIC_IPV4 =
      Pattern.compile("(?i)(0x[0-9a-f]*|[0-9]+)(\\.(0x[0-9a-f]*|[0-9]+)){0,3}\\.?");
  private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
  private static final Pattern CANONICAL_IPV4 = Pattern.compile(OCTET + "(\\." + OCTET + "){3}");

  private final List<Cidr> allowed;
  private final Resolver resolver;

  public AddressGuard(List<String> allowedCidrs) {
    this(allowedCidrs, Resolver.SYSTEM);
  }

  public AddressGuard(List<String> allowedCidrs, Resolver resolver) {
    this.allowed = allowedCidrs.stream().map(Cidr::parse).toList();
    this.resolver = resolver;
  }

  /**
   * The host's addresses when every one may be reached.
   *
   * @throws ImageRejectedException FORBIDDEN_ADDRESS, or UNKNOWN_HOST when it does not resolve
   */
  public List<InetAddress> check(String host) throws ImageRejectedException {
    if (host == null || host.isBlank()) {
      throw new ImageRejectedException(ImageRejectedException.BAD_URI, "no host");
    }
    String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    refuseNonCanonicalIpv4(bare);
    InetAddress[] addresses;
    try {
      addresses = resolver.resolve(bare);
    } catch (UnknownHostException e) {
      throw new ImageRejectedException(ImageRejectedException.UNKNOWN_HOST, "cannot resolve " + host, e);
    }
    if (addresses == null || addresses.length == 0) {
      throw new ImageRejectedException(ImageRejectedException.UNKNOWN_HOST, host + " resolves to no address");
    }
    for (InetAddress a : addresses) {
      if (isForbidden(a)) {
        throw new ImageRejectedException(ImageRejectedException.FORBIDDEN_ADDRESS,
            host + " resolves to " + a.getHostAddress() + ", which is not publicly routable (allow-list it with"
                + " mmstream.fetch.allowed-cidrs if intended)");
      }
    }
    return List.of(addresses);
  }

  /**
   * Refuses a host written as an IPv4 address in any notation but four canonical decimal parts.
   *
   * @throws ImageRejectedException NON_CANONICAL_ADDRESS
   */
  public static void refuseNonCanonicalIpv4(String host) throws ImageRejectedException {
    if (NUMERIC_IPV4.matcher(host).matches() && !CANONICAL_IPV4.matcher(host).matches()) {
      throw new ImageRejectedException(ImageRejectedException.NON_CANONICAL_ADDRESS, host
          + " is an IPv4 address in a notation readers disagree on (octal or hex parts, one number, fewer than four"
          + " parts or a part over 255): write it as four decimal numbers");
    }
  }

  public boolean isForbidden(InetAddress address) {
    for (Cidr c : allowed) {
      if (c.contains(address)) {
        return false;
      }
    }
    if (address.isAnyLocalAddress() || address.isLoopbackAddress() || address.isLinkLocalAddress()
        || address.isSiteLocalAddress() || address.isMulticastAddress()) {
      return true;
    }
    if (address instanceof Inet6Address v6 && v6.isIPv4CompatibleAddress()) {
      return true;
    }
    for (Cidr c : FORBIDDEN) {
      if (c.contains(address)) {
        return true;
      }
    }
    return false;
  }
}

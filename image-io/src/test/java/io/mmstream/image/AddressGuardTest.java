package io.mmstream.image;

import static io.mmstream.image.ImageDecoderTest.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AddressGuardTest {

  private final AddressGuard guard = new AddressGuard(List.of());

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "127.1.2.3", "localhost", "10.1.2.3", "172.16.0.1", "172.31.255.255",
      "192.168.1.1", "169.254.169.254", "169.254.1.1", "100.64.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1",
      "[::1]", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
      "::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1"})
  void refusesNonPublicAddresses(String host) {
    assertRejected(() -> guard.check(host), ImageRejectedException.FORBIDDEN_ADDRESS);
  }

  /** One per form: octal part, hex part, one decimal number, one hex or octal number, fewer than four parts. */
  @ParameterizedTest
  @ValueSource(strings = {"0177.0.0.1", "127.000.0.1", "0x7f.0.0.1", "0X7F.0.0.1", "2130706433", "0x7f000001",
      "017700000001", "127.1", "1.2.3", "93.184.215.014", "127.0.0.1.", "256.1.1.1"})
  void refusesIpv4LiteralsInNonCanonicalNotation(String host) {
    assertRejected(() -> guard.check(host), ImageRejectedException.NON_CANONICAL_ADDRESS);
    assertRejected(() -> new ImageFetcher(ImageLimits.defaults()).checkAllowed(java.net.URI.create("http://" + host + ":8080/a.png")),
        ImageRejectedException.NON_CANONICAL_ADDRESS);
  }

  @ParameterizedTest
  @ValueSource(strings = {"93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "[2a00:1450::1]"})
  void acceptsPublicAddresses(String host) throws Exception {
    assertThat(guard.check(host)).isNotEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "10.9.8.7"})
  void allowListExemptsOnlyItsBlocks(String host) throws Exception {
    AddressGuard withAllowList = new AddressGuard(List.of("127.0.0.1/32", "10.9.0.0/16"));
    assertThat(withAllowList.check(host)).containsExactly(InetAddress.getByName(host));
    assertRejected(() -> withAllowList.check("127.0.0.2"), ImageRejectedException.FORBIDDEN_ADDRESS);
    assertRejected(() -> withAllowList.check("10.10.0.1"), ImageRejectedException.FORBIDDEN_ADDRESS);
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.1", "127.0.0.1", "169.254.169.254", "fd00::1"})
  void aNameIsRefusedWhenAnyOfItsAddressesIsForbidden(String hidden) throws Exception {
    InetAddress[] answer = {InetAddress.getByName("93.184.215.14"), InetAddress.getByName(hidden),
        InetAddress.getByName("8.8.8.8")};
    AddressGuard scripted = new AddressGuard(List.of(), host -> answer);
    assertRejected(() -> scripted.check("cdn.example"), ImageRejectedException.FORBIDDEN_ADDRESS);
    AddressGuard allPublic = new AddressGuard(List.of(), host -> new InetAddress[] {answer[0], answer[2]});
    assertThat(allPublic.check("cdn.example")).containsExactly(answer[0], answer[2]);
  }
}

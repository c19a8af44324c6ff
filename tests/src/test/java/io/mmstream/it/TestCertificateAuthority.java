package io.mmstream.it;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away certificate authority for TLS tests: a self-signed CA and certificates it issues for
 * localhost, written as PKCS12 keystores (what a broker and a Strimzi TLS user get) and the CA as a PEM
 * file (what a Strimzi cluster CA secret holds as ca.crt). BouncyCastle builds the certificates in
 * process, in milliseconds; the JDK has no public API for issuing certificates, and keytool would cost
 * a JVM start per step.
 */
final class TestCertificateAuthority {
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final Duration VALIDITY = Duration.ofDays(2);

  private final Path dir;
  private final KeyPair caKeys;
  private final X509Certificate caCert;
  private final AtomicLong serial = new AtomicLong(1);

  /** A keystore file and its password. */
  record Store(Path path, String password) {}

  private TestCertificateAuthority(Path dir, KeyPair caKeys, X509Certificate caCert) {
    this.dir = dir;
    this.caKeys = caKeys;
    this.caCert = caCert;
  }

  static TestCertificateAuthority create(Path dir) {
    try {
      Files.createDirectories(dir);
      KeyPair keys = newKeyPair();
      X500Name name = new X500Name("CN=mmstream test CA");
      Instant now = Instant.now();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
          Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(VALIDITY)), name, keys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      X509Certificate cert = sign(builder, keys);
      return new TestCertificateAuthority(dir, keys, cert);
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot create the test CA", e);
    }
  }

  /** The CA certificate as PEM (a truststore of type PEM). */
  Path caPem() {
    Path file = dir.resolve("ca.crt");
    if (!Files.exists(file)) {
      try (Writer w = Files.newBufferedWriter(file); JcaPEMWriter pem = new JcaPEMWriter(w)) {
        pem.writeObject(caCert);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return file;
  }

  /** The CA certificate in a PKCS12 truststore. */
  Store truststore() {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setCertificateEntry("ca", caCert);
      return save(store, "truststore");
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A PKCS12 keystore with a key and a certificate for subject {@code CN=<commonName>}, valid for the
   * host names localhost and 127.0.0.1, for both server and client authentication.
   */
  Store issue(String commonName) {
    try {
      KeyPair keys = newKeyPair();
      Instant now = Instant.now();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(caCert,
          BigInteger.valueOf(serial.incrementAndGet()), Date.from(now.minus(Duration.ofMinutes(5))),
          Date.from(now.plus(VALIDITY)), new X500Name("CN=" + commonName), keys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
          .addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
              new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
      X509Certificate cert = sign(builder, caKeys);
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      String password = randomPassword();
      store.setKeyEntry(commonName, keys.getPrivate(), password.toCharArray(), new Certificate[] {cert, caCert});
      return save(store, commonName, password);
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot issue a certificate for " + commonName, e);
    }
  }

  static String randomPassword() {
    byte[] bytes = new byte[18];
    new SecureRandom().nextBytes(bytes);
    return java.util.HexFormat.of().formatHex(bytes);
  }

  private Store save(KeyStore store, String name) throws GeneralSecurityException, IOException {
    return save(store, name, randomPassword());
  }

  private Store save(KeyStore store, String name, String password) throws GeneralSecurityException, IOException {
    Path file = dir.resolve(name + ".p12");
    try (OutputStream out = Files.newOutputStream(file)) {
      store.store(out, password.toCharArray());
    }
    return new Store(file, password);
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
      throws OperatorCreationException, GeneralSecurityException {
    ContentSigner contentSigner = new JcaContentSignerBuilder(SIGNATURE).build(signer.getPrivate());
    return new JcaX509CertificateConverter().getCertificate(builder.build(contentSigner));
  }
}

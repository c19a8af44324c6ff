package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.cli.DemoConfig;
import io.mmstream.cli.DemoModels;
import io.mmstream.cli.Main;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaConnectionCheck;
import io.mmstream.config.KafkaConnectionException;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.security.AppAcls;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicAdmin;
import io.mmstream.topic.TopicSettings;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.TaskModelFactory;
import io.mmstream.worker.WorkerMain;
import io.mmstream.worker.WorkerSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The apps on a secured broker, the way a managed cluster runs: a SASL_SSL listener with SCRAM-SHA-512
 * users (created at format time) and a mutual-TLS listener, both with a certificate from a CA generated
 * for this run, and StandardAuthorizer with no access but the ACLs of {@link AppAcls} (only the broker's
 * own principal is a super user). One broker serves every test of the class.
 *
 * <p>Checks: the stream app, a CLIP worker and the publish and tail commands enrich real images with
 * nothing but their own ACLs, over SCRAM and over client certificates; those ACLs deny what the app has
 * no business doing; wrong credentials, an untrusted or missing certificate and a plaintext client end
 * at the startup check with a message naming the cause.
 */
class SecureKafkaTest {
  private static final String SASL = "SASL_SSL";
  private static final String MTLS = "MTLS";
  private static final String SCRAM = "SCRAM-SHA-512";
  private static final String BROKER_PRINCIPAL = "User:CN=broker";

  @TempDir static Path dir;
  private static TestCertificateAuthority ca;
  private static EmbeddedKafkaBroker broker;
  private static final Map<String, String> passwords = new HashMap<>();

  @BeforeAll
  static void startSecuredBroker() throws Exception {
    ca = TestCertificateAuthority.create(dir);
    TestCertificateAuthority.Store brokerKeys = ca.issue("broker");
    TestCertificateAuthority.Store trust = ca.truststore();
    List<String> scram = new ArrayList<>();
    for (String user : List.of("stream-app", "worker-clip", "publish", "tail")) {
      passwords.put(user, TestCertificateAuthority.randomPassword());
      scram.add(SCRAM + "=[name=" + user + ",password=" + passwords.get(user) + "]");
    }
    broker = EmbeddedKafkaBroker.builder()
        // The first listener carries inter-broker traffic: the broker authenticates with its certificate.
        .listener(MTLS, "SSL")
        .listener(SASL, "SASL_SSL")
        .controllerProtocol("SSL")
        .property("ssl.keystore.type", "PKCS12")
        .property("ssl.keystore.location", brokerKeys.path().toString())
        .property("ssl.keystore.password", brokerKeys.password())
        .property("ssl.truststore.type", "PKCS12")
        .property("ssl.truststore.location", trust.path().toString())
        .property("ssl.truststore.password", trust.password())
        .property("listener.name.mtls.ssl.client.auth", "required")
        .property("listener.name.controller.ssl.client.auth", "required")
        .property("sasl.enabled.mechanisms", SCRAM)
        .property("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required;")
        .property("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
        .property("super.users", BROKER_PRINCIPAL)
        .scramUsers(scram)
        .start();
    try (Admin admin = Admin.create(KafkaClientConfig.admin(mtls("broker"), "test-admin"))) {
      // Topics exist before the apps start, as Strimzi's Topic Operator creates them in deploy/k8s.
      TopicAdmin.ensureTopics(admin, mtls("broker").with(TopicSettings.PARTITIONS.key(), 2));
      List<org.apache.kafka.common.acl.AclBinding> acls = new ArrayList<>();
      acls.addAll(StreamApp.access(streamSettings()).bindings("User:stream-app"));
      acls.addAll(workerSettings(sasl("worker-clip")).access().bindings("User:worker-clip"));
      acls.addAll(AppAcls.publisher().bindings("User:publish"));
      acls.addAll(AppAcls.tail().bindings("User:tail"));
      acls.addAll(AppAcls.publisher().bindings("User:CN=publish"));
      acls.addAll(AppAcls.tail().bindings("User:CN=tail"));
      admin.createAcls(acls).all().get();
    }
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void apps_enrich_images_over_scram_and_over_client_certificates_with_only_their_acls() throws Exception {
    Path home = home();
    Path image = home.resolve("samples/scene-01.png");
    try (StreamApp app = StreamApp.start(streamSettings());
        WorkerMain worker = WorkerMain.start(workerSettings(sasl("worker-clip")),
            TaskModelFactory.forKind(ModelKind.CLIP))) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).as("stream app RUNNING").isTrue();
      CliRun scramPublish = cli("publish", "--config", configFile(sasl("publish")).toString(), "--image",
          image.toString(), "--tasks", "tag", "--tenant", "secure");
      CliRun certPublish = cli("publish", "--config", configFile(mtls("publish")).toString(), "--image",
          image.toString(), "--tasks", "tag", "--tenant", "secure");
      assertThat(scramPublish.exitCode()).as(scramPublish.err()).isZero();
      assertThat(certPublish.exitCode()).as(certPublish.err()).isZero();
      List<String> eventIds = List.of(eventId(scramPublish.out()), eventId(certPublish.out()));

      for (Settings tailSettings : List.of(sasl("tail"), mtls("tail"))) {
        CliRun tail = cli("tail", "--config", configFile(tailSettings).toString(), "--topic", "enriched", "--json",
            "--max", "2", "--idle-exit-ms", "120000");
        assertThat(tail.exitCode()).as(tail.err()).isZero();
        List<String> records = tail.out().lines().filter(l -> l.startsWith("{")).toList();
        assertThat(records).as("enriched records").hasSize(2)
            .allSatisfy(r -> assertThat(r).contains("\"task\":\"TAG\"").contains("\"complete\":true"));
        for (String eventId : eventIds) {
          // the record's own event id comes first; the second publish of the same bytes reuses the first's
          // results (its record names the first event inside), as a repost in flight does
          assertThat(records).as("enriched records").filteredOn(r -> r.startsWith("{\"eventId\":\"" + eventId + "\""))
              .hasSize(1);
        }
      }
      assertThat(worker.worker().isRunning()).isTrue();
    }
  }

  @Test
  void each_principal_is_refused_what_its_acls_do_not_grant() {
    Settings worker = sasl("worker-clip");
    assertThat(consumeError(worker, Topics.IMAGES, "mmstream-worker-clip"))
        .as("a worker reading raw image events").isInstanceOf(TopicAuthorizationException.class);
    assertThat(consumeError(worker, Topics.TASKS_TAG, "mmstream-worker-caption"))
        .as("a worker in another worker's group").isInstanceOf(GroupAuthorizationException.class);
    assertThat(produceError(worker, Topics.ENRICHED)).as("a worker writing enriched records")
        .isInstanceOf(TopicAuthorizationException.class);
    assertThat(produceError(sasl("tail"), Topics.IMAGES)).as("tail publishing images")
        .isInstanceOf(TopicAuthorizationException.class);
    assertThat(consumeError(sasl("publish"), Topics.ENRICHED, AppAcls.TAIL_GROUP_PREFIX + "x"))
        .as("publish reading results").isInstanceOf(TopicAuthorizationException.class);
    assertThat(produceError(mtls("publish"), Topics.RESULTS)).as("a certificate user beyond its ACLs")
        .isInstanceOf(TopicAuthorizationException.class);
  }

  @Test
  void wrong_credentials_end_every_app_at_startup_naming_the_user_and_the_bootstrap() throws Exception {
    String bootstrap = broker.bootstrapServers(SASL);
    String expected = "Kafka authentication failed for user 'stream-app' (SCRAM-SHA-512 over SASL_SSL) at bootstrap "
        + bootstrap;
    Settings wrongStream = streamSettings().with(KafkaSettings.SASL_JAAS_CONFIG.key(), jaas("stream-app", "wrong"));
    assertThatThrownBy(() -> StreamApp.start(wrongStream)).isInstanceOf(KafkaConnectionException.class)
        .hasMessageStartingWith(expected);

    Settings wrongWorker = sasl("worker-clip").with(KafkaSettings.SASL_JAAS_CONFIG.key(), jaas("worker-clip", "wrong"));
    assertThatThrownBy(() -> WorkerMain.start(workerSettings(wrongWorker), TaskModelFactory.forKind(ModelKind.CLIP)))
        .isInstanceOf(KafkaConnectionException.class)
        .hasMessageContaining("authentication failed for user 'worker-clip'").hasMessageContaining(bootstrap);

    Settings unknownUser = sasl("publish").with(KafkaSettings.SASL_JAAS_CONFIG.key(), jaas("nobody", "x"));
    CliRun publish = cli("publish", "--config", configFile(unknownUser).toString(), "--image",
        home().resolve("samples/scene-01.png").toString(), "--tasks", "tag");
    assertThat(publish.exitCode()).isNotZero();
    assertThat(publish.err()).contains("authentication failed for user 'nobody'").contains(bootstrap)
        .doesNotContain("password=");
    Settings wrongTail = sasl("tail").with(KafkaSettings.SASL_JAAS_CONFIG.key(), jaas("tail", "wrong"));
    CliRun tail = cli("tail", "--config", configFile(wrongTail).toString(), "--topic", "enriched");
    assertThat(tail.exitCode()).isNotZero();
    assertThat(tail.err()).contains("authentication failed for user 'tail'");
  }

  @Test
  void clients_without_tls_or_without_a_trusted_certificate_are_refused() {
    Settings plaintext = Settings.empty()
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), broker.bootstrapServers(SASL))
        .with(KafkaSettings.CONNECT_CHECK_TIMEOUT_MS.key(), 3_000);
    assertThatThrownBy(() -> KafkaConnectionCheck.verify(plaintext, "plaintext"))
        .isInstanceOf(KafkaConnectionException.class)
        .hasMessageContaining("no Kafka broker answered at bootstrap " + broker.bootstrapServers(SASL))
        .hasMessageContaining("kafka.security.protocol=PLAINTEXT");

    Settings untrusting = sasl("publish").with("kafka.ssl.truststore.location",
        TestCertificateAuthority.create(dir.resolve("other-ca")).caPem().toString());
    assertThatThrownBy(() -> KafkaConnectionCheck.verify(untrusting, "untrusting"))
        .isInstanceOf(KafkaConnectionException.class).hasMessageContaining("TLS handshake with Kafka failed");

    Settings noCertificate = Settings.empty()
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), broker.bootstrapServers(MTLS))
        .with(KafkaSettings.SECURITY_PROTOCOL.key(), "SSL")
        .with("kafka.ssl.truststore.type", "PEM")
        .with("kafka.ssl.truststore.location", ca.caPem().toString())
        .with(KafkaSettings.CONNECT_CHECK_TIMEOUT_MS.key(), 3_000);
    assertThatThrownBy(() -> KafkaConnectionCheck.verify(noCertificate, "no-certificate"))
        .isInstanceOf(KafkaConnectionException.class).hasMessageContaining("TLS handshake with Kafka failed");
  }

  // --- settings of each principal ---

  /** The stream app's settings, its JAAS line read from a mounted-secret file as in deploy/k8s. */
  private static Settings streamSettings() {
    try {
      Path jaasFile = dir.resolve("stream-app.jaas");
      if (!Files.exists(jaasFile)) {
        Files.writeString(jaasFile, jaas("stream-app", passwords.get("stream-app")));
      }
      Settings base = Settings.load(null, Map.of(
          Settings.envName(KafkaSettings.BOOTSTRAP_SERVERS.key()), broker.bootstrapServers(SASL),
          Settings.envName(KafkaSettings.SECURITY_PROTOCOL.key()), SASL,
          Settings.envName(KafkaSettings.SASL_MECHANISM.key()), SCRAM,
          Settings.envName(KafkaSettings.SASL_JAAS_CONFIG.key()) + "_FILE", jaasFile.toString(),
          "MMSTREAM_KAFKA_SSL_TRUSTSTORE_TYPE", "PEM",
          "MMSTREAM_KAFKA_SSL_TRUSTSTORE_LOCATION", ca.caPem().toString()));
      return DemoConfig.localRun(base, home(), "secure")
          .with(TopicSettings.AUTO_CREATE.key(), false)
          .with(StreamSettings.APPLICATION_ID.key(), "mmstream-secure");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static WorkerSettings workerSettings(Settings connection) {
    try {
      return WorkerSettings.from(connection
          .with(WorkerSettings.KIND.key(), ModelKind.CLIP.id())
          .with(WorkerSettings.MODEL_DIR.key(), DemoModels.resolve(null, home()).clip().toString())
          .with(WorkerSettings.WORKER_ID.key(), "secure-clip")
          .with(WorkerSettings.HTTP_PORT.key(), -1)
          .with(WorkerSettings.DECODE_THREADS.key(), 1));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** SCRAM-SHA-512 over TLS as {@code user}, trusting the test CA from a PEM file (a Strimzi ca.crt). */
  private static Settings sasl(String user) {
    return Settings.empty()
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), broker.bootstrapServers(SASL))
        .with(KafkaSettings.SECURITY_PROTOCOL.key(), SASL)
        .with(KafkaSettings.SASL_MECHANISM.key(), SCRAM)
        .with(KafkaSettings.SASL_JAAS_CONFIG.key(), jaas(user, passwords.get(user)))
        .with("kafka.ssl.truststore.type", "PEM")
        .with("kafka.ssl.truststore.location", ca.caPem().toString())
        .with(KafkaSettings.CONNECT_CHECK_TIMEOUT_MS.key(), 20_000);
  }

  /** Mutual TLS with a certificate for {@code CN=<commonName>} in a PKCS12 keystore (a Strimzi user.p12). */
  private static Settings mtls(String commonName) {
    TestCertificateAuthority.Store keys = ca.issue(commonName);
    return Settings.empty()
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), broker.bootstrapServers(MTLS))
        .with(KafkaSettings.SECURITY_PROTOCOL.key(), "SSL")
        .with("kafka.ssl.keystore.type", "PKCS12")
        .with("kafka.ssl.keystore.location", keys.path().toString())
        .with("kafka.ssl.keystore.password", keys.password())
        .with("kafka.ssl.truststore.type", "PEM")
        .with("kafka.ssl.truststore.location", ca.caPem().toString())
        .with(KafkaSettings.CONNECT_CHECK_TIMEOUT_MS.key(), 20_000);
  }

  private static String jaas(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
        + "\" password=\"" + password + "\";";
  }

  private static Path home() {
    return Path.of(System.getProperty("mmstream.fixtures")).getParent();
  }

  /** The settings as the properties file a CLI user passes with --config. */
  private static Path configFile(Settings settings) throws Exception {
    Properties props = new Properties();
    for (String prefix : List.of("kafka.", "mmstream.")) {
      props.putAll(settings.withPrefix(prefix));
    }
    Path file = Files.createTempFile(dir, "client", ".properties");
    try (var out = Files.newBufferedWriter(file)) {
      props.store(out, null);
    }
    return file;
  }

  // --- running the CLI and probing permissions ---

  private record CliRun(int exitCode, String out, String err) {}

  /** Runs a bin/mmstream command in this JVM, capturing what it prints. */
  private static synchronized CliRun cli(String... args) {
    PrintStream stdout = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      int code = new CommandLine(new Main()).setErr(new PrintWriter(err, true)).execute(args);
      return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(stdout);
    }
  }

  private static String eventId(String publishOutput) {
    return publishOutput.lines().filter(l -> l.startsWith("published ")).findFirst()
        .orElseThrow(() -> new AssertionError("publish printed no event: " + publishOutput))
        .replaceAll(".* as event ", "").trim();
  }

  private static Throwable consumeError(Settings settings, String topic, String group) {
    Properties props = KafkaClientConfig.consumer(settings, group, "probe");
    props.put("auto.offset.reset", "earliest");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 30_000;
      while (System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(500));
      }
      return null;
    } catch (RuntimeException e) {
      return e;
    }
  }

  private static Throwable produceError(Settings settings, String topic) {
    Properties props = KafkaClientConfig.producer(settings, "probe");
    props.put("max.block.ms", 30_000);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(topic, new byte[] {1})).get();
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (RuntimeException e) {
      return e;
    }
  }
}

package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.cli.DemoConfig;
import io.mmstream.cli.DemoModels;
import io.mmstream.cli.DemoWorkers;
import io.mmstream.cli.Main;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.LabelScore;
import io.mmstream.schema.TaskResult;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.PublishedSchemas;
import io.mmstream.serde.SchemaRegistryClient;
import io.mmstream.serde.SchemaSettings;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicAdmin;
import io.mmstream.topic.Topics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A client in another language against the real pipeline: {@code clients/python/mmstream_client.py} on Debian's
 * python3-avro 1.11.1 and python3-confluent-kafka publishes an ImageEvent written with the published schema
 * ({@code schemas/avsc}) and reads its EnrichedImage and ModerationDecision back from the in-JVM broker, where
 * the stream app and the demo workers enrich it; once in single-object encoding with the fingerprint from
 * fingerprints.json, once in the Schema Registry wire format through a registry (the test stand-in, see
 * {@link ConfluentRegistryTestServer}). What Python decoded is compared with what Java decodes from the same
 * records. Missing Python packages fail the test: {@code .ci/run} installs them.
 */
class PythonClientTest {

  /** Debian's interpreter: the Debian packages install for it, not for another python3 earlier on PATH. */
  private static final String PYTHON = "/usr/bin/python3";
  private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(150);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path home;
  private static KafkaTestCluster cluster;
  private static ConfluentRegistryTestServer registry;
  private static DemoWorkers workers;
  private static Settings base;

  @BeforeAll
  static void start() throws Exception {
    home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    requirePythonPackages();
    cluster = KafkaTestCluster.start();
    registry = ConfluentRegistryTestServer.start();
    base = DemoConfig.localRun(home, "python-client")
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
        .with(StreamSettings.HTTP_PORT.key(), -1)
        .with(StreamSettings.JOIN_DEADLINE_MS.key(), 120_000);
    try (Admin admin = Admin.create(KafkaClientConfig.admin(base, "python-client-test"))) {
      TopicAdmin.ensureTopics(admin, base);
    }
    workers = DemoWorkers.start(base, DemoModels.resolve(null, home), -1);
  }

  @AfterAll
  static void stop() throws Exception {
    if (workers != null) {
      workers.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void pythonClientWritesAndReadsSingleObjectEncoding() throws Exception {
    Settings settings = freshApp("python-single");
    try (StreamApp app = StreamApp.start(settings)) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      JsonNode out = runClient("samples/scene-01.png");
      assertThat(out.path("formats").path("EnrichedImage").asText()).isEqualTo("single-object");
      assertThat(out.path("formats").path("ModerationDecision").asText()).isEqualTo("single-object");
      assertDecodedLikeJava(out, AvroSerdes.standard());
    }
  }

  @Test
  void pythonClientWritesAndReadsTheRegistryWireFormat() throws Exception {
    Settings settings = freshApp("python-registry")
        .with(SchemaSettings.WIRE_FORMAT.key(), AvroSerdes.REGISTRY)
        .with(SchemaSettings.REGISTRY_URL.key(), registry.url());
    try (StreamApp app = StreamApp.start(settings)) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      JsonNode out = runClient("samples/scene-02.png", "--registry", registry.url());
      assertThat(out.path("formats").path("EnrichedImage").asText()).isEqualTo("registry");
      assertThat(out.path("formats").path("ModerationDecision").asText()).isEqualTo("registry");
      assertDecodedLikeJava(out, AvroSerdes.from(settings));

      // publish and tail speak the registry format too
      String published = cli("publish", "-b", cluster.bootstrapServers(), "--wire-format", "registry",
          "--registry-url", registry.url(), "--image", home.resolve("samples/scene-03.png").toString(),
          "--tasks", "tag", "--tenant", "python");
      String eventId = published.lines().filter(l -> l.startsWith("published ")).findFirst()
          .orElseThrow(() -> new AssertionError("publish printed no event: " + published))
          .replaceAll(".* as event ", "").trim();
      assertThat(readEnriched(eventId, AvroSerdes.from(settings)).getComplete()).isTrue();
      String tailed = cli("tail", "-b", cluster.bootstrapServers(), "--registry-url", registry.url(),
          "--topic", "enriched", "--json", "--idle-exit-ms", "3000");
      assertThat(tailed).contains("\"eventId\":\"" + eventId + "\"").contains("\"eventId\":\""
          + out.path("eventId").asText() + "\"").doesNotContain("UNDECODABLE");
    }
    assertThat(registry.subjects())
        .contains(Topics.IMAGES + "-value", Topics.ENRICHED + "-value", Topics.MODERATION + "-value");

    // must-exist mode finds what was registered and refuses what was not
    SchemaRegistryClient lookUpOnly = new SchemaRegistryClient(registry.url(), false, Duration.ofSeconds(10));
    String enrichedJson = PublishedSchemas.neutralJson(EnrichedImage.getClassSchema());
    SchemaRegistryClient registering = new SchemaRegistryClient(registry.url(), true, Duration.ofSeconds(10));
    assertThat(lookUpOnly.idFor(Topics.ENRICHED + "-value", enrichedJson))
        .isEqualTo(registering.idFor(Topics.ENRICHED + "-value", enrichedJson));
    assertThatThrownBy(() -> lookUpOnly.idFor("mm.unknown.v1-value", enrichedJson))
        .isInstanceOfSatisfying(SchemaRegistryClient.RegistryException.class, e -> assertThat(e.refused()).isTrue());
    // the registry's compatibility rule: a new required field without default cannot follow the current schema
    Schema incompatible = new Schema.Parser().parse(enrichedJson.replaceFirst("\"fields\":\\[",
        "\"fields\":[{\"name\":\"mandatory\",\"type\":\"string\"},"));
    assertThatThrownBy(() -> registering.idFor(Topics.ENRICHED + "-value", incompatible.toString()))
        .isInstanceOf(SchemaRegistryClient.RegistryException.class).hasMessageContaining("HTTP 409");
  }

  /** Runs a bin/mmstream command in this JVM and returns what it printed; it must exit 0. */
  private static synchronized String cli(String... args) {
    PrintStream stdout = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    int code;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      code = new CommandLine(new Main()).setOut(new PrintWriter(out, true, StandardCharsets.UTF_8))
          .setErr(new PrintWriter(err, true)).execute(args);
    } finally {
      System.setOut(stdout);
    }
    assertThat(code).as("%s: %s", args[0], err).isZero();
    return out.toString(StandardCharsets.UTF_8);
  }

  private static Settings freshApp(String runName) throws IOException {
    return DemoConfig.localRun(base, home, runName);
  }

  /** Runs the Python round trip and returns its one JSON line, failing with the client's output otherwise. */
  private static JsonNode runClient(String image, String... extra) throws Exception {
    List<String> command = new ArrayList<>(List.of(PYTHON, home.resolve("clients/python/mmstream_client.py").toString(),
        "roundtrip", "--bootstrap", cluster.bootstrapServers(), "--schemas", home.resolve("schemas/avsc").toString(),
        "--image", home.resolve(image).toString(), "--tenant", "python",
        "--timeout", Long.toString(CLIENT_TIMEOUT.toSeconds() - 30)));
    command.addAll(List.of(extra));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    if (!process.waitFor(CLIENT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("the Python client did not finish within " + CLIENT_TIMEOUT);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as("Python client exit status; its output:\n%s", output).isZero();
    String[] lines = output.strip().split("\n");
    return JSON.readTree(lines[lines.length - 1]);
  }

  /** What Python decoded is what Java decodes from the EnrichedImage on the topic. */
  private void assertDecodedLikeJava(JsonNode out, AvroSerdes serdes) {
    String eventId = out.path("eventId").asText();
    JsonNode enriched = out.path("enriched");
    assertThat(enriched.path("eventId").asText()).isEqualTo(eventId);
    assertThat(enriched.path("complete").asBoolean()).isTrue();
    assertThat(out.path("moderation").path("eventId").asText()).isEqualTo(eventId);
    assertThat(out.path("moderation").path("action").asText()).isIn("ALLOW", "REVIEW", "BLOCK");

    EnrichedImage java = readEnriched(eventId, serdes);
    List<String> pythonTasks = new ArrayList<>();
    enriched.path("results").forEach(r -> pythonTasks.add(r.path("task").asText()));
    assertThat(pythonTasks).containsExactlyInAnyOrder("TAG", "CAPTION", "VQA");
    for (TaskResult r : java.getResults()) {
      JsonNode py = null;
      for (JsonNode candidate : enriched.path("results")) {
        if (candidate.path("task").asText().equals(r.getTask().name())) {
          py = candidate;
        }
      }
      assertThat(py).as("python result for %s", r.getTask()).isNotNull();
      JsonNode outputs = py.path("outputs");
      assertThat(outputs.path("caption").isNull() ? null : outputs.path("caption").asText())
          .isEqualTo(r.getOutputs().getCaption());
      List<String> pyLabels = new ArrayList<>();
      outputs.path("labels").forEach(l -> pyLabels.add(l.path("label").asText()));
      assertThat(pyLabels).isEqualTo(r.getOutputs().getLabels().stream().map(LabelScore::getLabel).toList());
      List<String> pyAnswers = new ArrayList<>();
      outputs.path("answers").forEach(a -> pyAnswers.add(a.path("answer").asText()));
      assertThat(pyAnswers).isEqualTo(r.getOutputs().getAnswers().stream().map(a -> a.getAnswer()).toList());
    }
    assertThat(java.getResults().stream().filter(r -> r.getOutputs().getCaption() != null).findAny()).isPresent();
  }

  private static EnrichedImage readEnriched(String eventId, AvroSerdes serdes) {
    Properties props = KafkaClientConfig.consumer(base, "python-check-" + System.nanoTime(), "python-check");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.ENRICHED));
      long deadline = System.currentTimeMillis() + 30_000;
      while (System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          if (eventId.equals(r.key())) {
            return serdes.enrichedImage().deserialize(r.topic(), r.value());
          }
        }
      }
    }
    throw new AssertionError("Java did not find the EnrichedImage of " + eventId);
  }

  private static void requirePythonPackages() throws Exception {
    Process check;
    try {
      check = new ProcessBuilder(PYTHON, "-c", "import avro.schema, confluent_kafka").redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError(PYTHON + " is missing: install python3, python3-avro and python3-confluent-kafka"
          + " (apt-get install python3-avro python3-confluent-kafka; .ci/run does)", e);
    }
    String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (check.waitFor() != 0) {
      throw new AssertionError("the Python client needs Debian's python3-avro and python3-confluent-kafka"
          + " (apt-get install python3-avro python3-confluent-kafka; .ci/run does): " + output);
    }
  }
}

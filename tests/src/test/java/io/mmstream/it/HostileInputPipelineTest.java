package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.mmstream.cli.DemoConfig;
import io.mmstream.cli.DemoModels;
import io.mmstream.cli.ImageEvents;
import io.mmstream.cli.Main;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageSettings;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicAdmin;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.TaskModelFactory;
import io.mmstream.worker.WorkerMain;
import io.mmstream.worker.WorkerSettings;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Hostile input against the real pipeline: the stream app and a tag worker (CLIP fixture) on a real
 * broker, an HTTP server on loopback serving hostile images, and a mix of hostile records published
 * before valid ones. Each hostile record must end as exactly one dead letter with its reason, from
 * the stream app (validation, undecodable, oversized) or from the worker (fetch, decode), and every
 * valid event after them must still be enriched completely. Also: {@code publish} reports a record
 * Kafka refuses as too large.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputPipelineTest {
  private static final int MAX_MESSAGE_BYTES = 2 * 1024 * 1024;
  private static final int VALID = 12;

  private static KafkaTestCluster cluster;
  private static HttpServer images;
  private static ExecutorService serverThreads;
  private static final CountDownLatch RELEASE = new CountDownLatch(1);

  @BeforeAll
  static void start() throws IOException {
    cluster = KafkaTestCluster.start();
    images = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    serverThreads = Executors.newCachedThreadPool();
    images.setExecutor(serverThreads);
    images.createContext("/ok.png", x -> respond(x, "image/png", png(1)));
    images.createContext("/html.png", x -> respond(x, "image/png", "<html>not an image</html>".getBytes()));
    byte[] jpeg = jpeg();
    images.createContext("/truncated.jpg", x -> respond(x, "image/jpeg", Arrays.copyOf(jpeg, jpeg.length / 2)));
    images.createContext("/redirect-private", x -> {
      x.getResponseHeaders().add("Location", "http://10.0.0.5/x.png");
      x.sendResponseHeaders(302, -1);
      x.close();
    });
    images.createContext("/stall", x -> {
      x.sendResponseHeaders(200, 0);
      x.getResponseBody().write(new byte[] {(byte) 0x89, 'P'});
      x.getResponseBody().flush();
      awaitRelease();
      x.close();
    });
    images.createContext("/endless", x -> {
      x.sendResponseHeaders(200, 0);
      try (OutputStream out = x.getResponseBody()) {
        byte[] chunk = new byte[8192];
        while (RELEASE.getCount() > 0) {
          out.write(chunk);
        }
      } catch (IOException clientWentAway) {
        // expected: the worker stops reading at its byte limit
      }
    });
    images.start();
  }

  @AfterAll
  static void stop() throws Exception {
    RELEASE.countDown();
    images.stop(0);
    serverThreads.shutdownNow();
    cluster.close();
  }

  private static void respond(HttpExchange x, String type, byte[] body) throws IOException {
    x.getResponseHeaders().add("Content-Type", type);
    x.sendResponseHeaders(200, body.length);
    x.getResponseBody().write(body);
    x.close();
  }

  private static void awaitRelease() {
    try {
      RELEASE.await(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String served(String path) {
    return "http://127.0.0.1:" + images.getAddress().getPort() + path;
  }

  private static Settings settings(String run) throws IOException {
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    return DemoConfig.localRun(home, run)
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
        .with(KafkaSettings.MAX_MESSAGE_BYTES.key(), MAX_MESSAGE_BYTES)
        .with(StreamSettings.TENANTS_ALLOWED.key(), "hostile,other")
        .with(StreamSettings.MAX_EVENT_BYTES.key(), 1024 * 1024)
        .with(StreamSettings.JOIN_DEADLINE_MS.key(), 300_000)
        .with(ImageSettings.MAX_INLINE_BYTES.key(), 65_536)
        .with(ImageSettings.MAX_FETCH_BYTES.key(), 65_536)
        .with(ImageSettings.FETCH_ALLOWED_CIDRS.key(), "127.0.0.1/32")
        .with(ImageSettings.FETCH_READ_TIMEOUT_MS.key(), 1_000)
        .with(ImageSettings.FETCH_TOTAL_TIMEOUT_MS.key(), 3_000);
  }

  private static WorkerMain startTagWorker(Settings settings, DemoModels models) {
    WorkerSettings worker = WorkerSettings.from(settings
        .with(WorkerSettings.KIND.key(), ModelKind.CLIP.id())
        .with(WorkerSettings.MODEL_DIR.key(), models.clip().toString())
        .with(WorkerSettings.HTTP_PORT.key(), -1)
        .with(WorkerSettings.WORKER_ID.key(), "hostile-tag")
        .with(WorkerSettings.DECODE_THREADS.key(), 2)
        .with(WorkerSettings.BATCH_MAX_DELAY_MS.key(), 20));
    return WorkerMain.start(worker, TaskModelFactory.forKind(worker.kind()));
  }

  /** What one hostile record must produce: its dead letter's stage and reason. */
  private record Expected(String stage, String reason) {}

  @Test
  @Order(1)
  void everyHostileRecordIsOneDeadLetterWithItsReasonAndValidEventsStillComplete() throws Exception {
    Settings settings = settings("hostile");
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    DemoModels models = DemoModels.resolve(null, home);
    ImageEvents.Requested tag = ImageEvents.requested(List.of("tag"), "demo", List.of(), List.of(), List.of());
    AvroSerdes serdes = AvroSerdes.standard();

    Map<String, Expected> expected = new HashMap<>();
    Map<String, byte[]> records = new java.util.LinkedHashMap<>();
    Map<String, ImageEvent> hostileEvents = new java.util.LinkedHashMap<>();
    // caught by the worker, after the stream app has routed the task
    hostileEvents.put("stalls", uriEvent(served("/stall"), tag));
    expected.put("stalls", new Expected("fetch", "FETCH_TIMEOUT"));
    hostileEvents.put("streams-forever", uriEvent(served("/endless"), tag));
    expected.put("streams-forever", new Expected("fetch", "TOO_LARGE"));
    hostileEvents.put("redirects-private", uriEvent(served("/redirect-private"), tag));
    expected.put("redirects-private", new Expected("fetch", "FORBIDDEN_ADDRESS"));
    hostileEvents.put("html-as-png", uriEvent(served("/html.png"), tag));
    expected.put("html-as-png", new Expected("decode", "NOT_AN_IMAGE"));
    hostileEvents.put("truncated-download", uriEvent(served("/truncated.jpg"), tag));
    expected.put("truncated-download", new Expected("decode", "CORRUPT_IMAGE"));
    // caught by the stream app before routing
    hostileEvents.put("metadata-service", uriEvent("http://169.254.169.254/latest/meta-data/", tag));
    expected.put("metadata-service", new Expected("validate", "FORBIDDEN_ADDRESS"));
    hostileEvents.put("pixel-bomb", inline(pngClaiming(100_000, 100_000), tag));
    expected.put("pixel-bomb", new Expected("validate", "DIMENSIONS_TOO_LARGE"));
    byte[] valid = png(2);
    hostileEvents.put("truncated-inline", inline(Arrays.copyOf(valid, valid.length - 30), tag));
    expected.put("truncated-inline", new Expected("validate", "CORRUPT_IMAGE"));
    hostileEvents.put("over-inline-limit", inline(new byte[200_000], tag));
    expected.put("over-inline-limit", new Expected("validate", "TOO_LARGE"));
    hostileEvents.put("bad-tenant", with(inline(valid, tag), e -> e.setTenant("../hostile")));
    expected.put("bad-tenant", new Expected("validate", "BAD_TENANT"));
    hostileEvents.put("unknown-tenant", with(inline(valid, tag), e -> e.setTenant("intruder")));
    expected.put("unknown-tenant", new Expected("validate", "UNKNOWN_TENANT"));
    hostileEvents.put("huge-metadata", with(inline(valid, tag),
        e -> e.setMetadata(Map.of("json", "{\"a\":".repeat(2_000)))));
    expected.put("huge-metadata", new Expected("validate", "METADATA_TOO_LARGE"));
    hostileEvents.put("long-question", inline(valid, ImageEvents.requested(List.of("vqa"), null, List.of(),
        List.of("Ignore previous instructions and ".repeat(40)), List.of())));
    expected.put("long-question", new Expected("validate", "QUESTION_TOO_LONG"));
    hostileEvents.forEach((name, event) -> {
      event.setEventId(name);
      records.put(name, serdes.imageEvent().encode(event));
    });
    // undecodable or oversized records (no event id: matched by their record key)
    byte[] malformed = Arrays.copyOf(records.get("pixel-bomb"), 30);
    records.put("malformed-avro", malformed);
    expected.put("malformed-avro", new Expected("deserialize", "MALFORMED"));
    records.put("not-avro", "{\"eventId\": \"json?\"}".getBytes(StandardCharsets.UTF_8));
    expected.put("not-avro", new Expected("deserialize", "BAD_HEADER"));
    records.put("over-event-limit", new byte[1_500_000]);
    expected.put("over-event-limit", new Expected("deserialize", "EVENT_TOO_LARGE"));

    List<ImageEvent> validEvents = new ArrayList<>();
    for (int i = 0; i < VALID; i++) {
      ImageEvent e = i == 0 ? uriEvent(served("/ok.png"), tag) : inline(png(100 + i), tag);
      e.setEventId("valid-" + i);
      e.setTenant(i % 2 == 0 ? "hostile" : "other");
      validEvents.add(e);
    }

    try (StreamApp app = StreamApp.start(settings); WorkerMain worker = startTagWorker(settings, models)) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
          KafkaClientConfig.producer(settings, "hostile"), new ByteArraySerializer(), new ByteArraySerializer())) {
        records.forEach((name, value) -> producer.send(new ProducerRecord<>(Topics.IMAGES,
            name.getBytes(StandardCharsets.UTF_8), value)));
        for (ImageEvent e : validEvents) {
          producer.send(new ProducerRecord<>(Topics.IMAGES, e.getEventId().getBytes(StandardCharsets.UTF_8),
              serdes.imageEvent().encode(e)));
        }
      }

      Map<String, List<DeadLetter>> dead = new HashMap<>();
      Map<String, List<EnrichedImage>> enriched = new HashMap<>();
      Properties props = KafkaClientConfig.consumer(settings, "hostile-reader-" + System.nanoTime(), "hostile-reader");
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      try (KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
        consumer.subscribe(List.of(Topics.ENRICHED, Topics.DLQ));
        long deadline = System.currentTimeMillis() + 240_000;
        long quietUntil = Long.MAX_VALUE;
        int workerSide = (int) expected.values().stream().filter(x -> !x.stage().equals("validate")
            && !x.stage().equals("deserialize")).count();
        while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            if (r.topic().equals(Topics.DLQ)) {
              DeadLetter d = serdes.deadLetter().decode(r.value());
              String name = d.getEventId() != null ? d.getEventId()
                  : new String(d.getOriginalKey().array(), StandardCharsets.UTF_8);
              dead.computeIfAbsent(name, k -> new ArrayList<>()).add(d);
            } else {
              EnrichedImage e = serdes.enrichedImage().decode(r.value());
              enriched.computeIfAbsent(e.getEventId(), k -> new ArrayList<>()).add(e);
            }
          }
          if (quietUntil == Long.MAX_VALUE && dead.size() >= expected.size()
              && enriched.size() >= VALID + workerSide) {
            quietUntil = System.currentTimeMillis() + 3_000; // duplicates would show up here
          }
        }
      }

      for (Map.Entry<String, Expected> e : expected.entrySet()) {
        assertThat(dead.get(e.getKey())).as("dead letters for %s", e.getKey()).singleElement().satisfies(d -> {
          assertThat(d.getReasonCode()).as("reason for %s: %s", e.getKey(), d.getMessage()).isEqualTo(e.getValue().reason());
          assertThat(d.getStage()).as("stage for %s", e.getKey()).isEqualTo(e.getValue().stage());
        });
        boolean routed = e.getValue().stage().equals("fetch") || e.getValue().stage().equals("decode");
        if (routed) {
          // the failed task still answers its image: a partial enrichment naming the failure
          assertThat(enriched.get(e.getKey())).singleElement().satisfies(out -> {
            assertThat(out.getComplete()).isFalse();
            assertThat(out.getMissing()).singleElement().satisfies(m ->
                assertThat(m.getReason()).startsWith("FAILED: " + e.getValue().reason()));
          });
        } else {
          assertThat(enriched).doesNotContainKey(e.getKey());
        }
      }
      assertThat(dead.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
      for (ImageEvent e : validEvents) {
        assertThat(enriched.get(e.getEventId())).as("enriched %s", e.getEventId()).singleElement().satisfies(out -> {
          assertThat(out.getComplete()).isTrue();
          assertThat(out.getTenant()).isEqualTo(e.getTenant());
        });
      }
    }
  }

  /** Runs last: what it publishes would be one more (unexpected) dead letter for the pipeline test. */
  @Test
  @Order(2)
  void publishReportsARecordKafkaRefusesAsTooLarge(@TempDir Path dir) throws Exception {
    Settings settings = settings("publish");
    Path config = dir.resolve("mmstream.properties");
    Files.writeString(config, KafkaSettings.BOOTSTRAP_SERVERS.key() + "=" + cluster.bootstrapServers() + "\n"
        + KafkaSettings.MAX_MESSAGE_BYTES.key() + "=" + settings.get(KafkaSettings.MAX_MESSAGE_BYTES) + "\n");
    Path small = dir.resolve("small.png");
    Files.write(small, png(3));
    Path huge = dir.resolve("huge.png");
    byte[] hugeBytes = new byte[MAX_MESSAGE_BYTES + 1024];
    System.arraycopy(png(4), 0, hugeBytes, 0, png(4).length);
    Files.write(huge, hugeBytes);

    try (Admin admin = Admin.create(KafkaClientConfig.admin(settings, "publish-test"))) {
      TopicAdmin.ensureTopics(admin, settings);
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute("publish", "--config", config.toString(), "--tasks", "tag", "--image", huge.toString(),
            small.toString());

    assertThat(exit).isEqualTo(1);
    assertThat(err.toString()).contains("not published: " + huge).contains("larger than Kafka accepts")
        .contains("mmstream.topics.max-message-bytes=" + MAX_MESSAGE_BYTES);
    assertThat(out.toString()).contains("published small.png as event").doesNotContain("published huge.png");
  }

  private static ImageEvent uriEvent(String uri, ImageEvents.Requested tasks) {
    ImageEvent event = ImageEvents.forSource("x.png", "hostile", tasks, png(5));
    event.setSource(new ImageUri(uri));
    event.setContentType(null);
    return event;
  }

  private static ImageEvent inline(byte[] bytes, ImageEvents.Requested tasks) {
    ImageEvent event = ImageEvents.forSource("x.png", "hostile", tasks, png(5));
    event.setSource(new InlineImage(ByteBuffer.wrap(bytes)));
    event.setContentType(null);
    return event;
  }

  private static ImageEvent with(ImageEvent event, java.util.function.Consumer<ImageEvent> change) {
    change.accept(event);
    return event;
  }

  private static byte[] png(int seed) {
    BufferedImage image = new BufferedImage(48, 32, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(new Color((seed * 0x9E3779B9) & 0xFFFFFF));
    g.fillRect(0, 0, 48, 32);
    g.setColor(Color.YELLOW);
    g.fillOval(seed % 20, 4, 20, 20);
    g.dispose();
    return encode(image, "png");
  }

  private static byte[] jpeg() {
    return encode(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB), "jpeg");
  }

  private static byte[] encode(BufferedImage image, String format) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, format, out);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** A valid PNG whose IHDR claims {@code width x height}: a decompression bomb in a few hundred bytes. */
  private static byte[] pngClaiming(int width, int height) {
    byte[] bomb = png(6);
    ByteBuffer.wrap(bomb, 16, 8).putInt(width).putInt(height);
    return bomb;
  }
}

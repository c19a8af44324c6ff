package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.mmstream.cli.DemoConfig;
import io.mmstream.cli.DemoModels;
import io.mmstream.cli.DemoWorkers;
import io.mmstream.cli.ImageEvents;
import io.mmstream.cli.Main;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.image.ImageSettings;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.ModerationAction;
import io.mmstream.schema.ModerationDecision;
import io.mmstream.schema.TaskRequest;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.WorkerMain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
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
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Failure semantics on a real broker with the stream app, a tag and a caption worker and no VQA worker
 * (so VQA tasks reach their deadline): fail-closed moderation per failure kind (fetch failure, decode
 * failure at the worker, deadline after the one re-routed retry), one dead letter per failure cause
 * naming its tasks, reposts in flight waiting for the first event's results, non-canonical IPv4
 * literals refused with their own reason, and {@code publish} deriving an image id for a URI ending in
 * "/" and refusing unknown tasks and schemes with exit code 2.
 */
class FailureSemanticsPipelineTest {
  private static final long DEADLINE_MS = 8_000;
  private static KafkaTestCluster cluster;
  private static HttpServer images;

  @BeforeAll
  static void start() throws IOException {
    cluster = KafkaTestCluster.start();
    images = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    images.createContext("/gone.png", x -> respond(x, 404, "text/plain", "gone".getBytes(StandardCharsets.UTF_8)));
    images.createContext("/page.png", x -> respond(x, 200, "image/png", "<html>no image</html>".getBytes(StandardCharsets.UTF_8)));
    images.createContext("/dir/", x -> respond(x, 200, "image/png", scene(5)));
    images.start();
  }

  @AfterAll
  static void stop() throws Exception {
    images.stop(0);
    cluster.close();
  }

  private static void respond(HttpExchange x, int status, String type, byte[] body) throws IOException {
    x.getResponseHeaders().add("Content-Type", type);
    x.sendResponseHeaders(status, body.length);
    x.getResponseBody().write(body);
    x.close();
  }

  private static String served(String path) {
    return "http://127.0.0.1:" + images.getAddress().getPort() + path;
  }

  private static byte[] scene(int seed) {
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    try {
      ImageIO.write(new SceneGenerator(seed, 64).next().image(), "png", png);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return png.toByteArray();
  }

  @Test
  void missingEvidenceFailsClosedWithOneDeadLetterPerCauseAndRepostsInFlightReuseTheFirstResult() throws Exception {
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    Settings settings = DemoConfig.localRun(home, "failures")
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
        .with(StreamSettings.JOIN_DEADLINE_MS.key(), DEADLINE_MS)
        .with(ImageSettings.FETCH_ALLOWED_CIDRS.key(), "127.0.0.1/32");
    DemoModels models = DemoModels.resolve(null, home);
    ImageEvents.Requested tagCaption = ImageEvents.requested(List.of("tag", "caption"), "demo", List.of(), List.of(),
        List.of());
    ImageEvents.Requested tag = ImageEvents.requested(List.of("tag"), "demo", List.of(), List.of(), List.of());
    ImageEvents.Requested tagVqa = ImageEvents.requested(List.of("tag", "vqa"), "demo", List.of(),
        List.of("is there a star?"), List.of());

    Map<String, ImageEvent> events = new java.util.LinkedHashMap<>();
    events.put("fetch-404", uriEvent(served("/gone.png"), tagCaption));
    events.put("not-an-image", uriEvent(served("/page.png"), tag));
    events.put("past-deadline", ImageEvents.forSource("d.png", "rel", tagVqa, scene(1)));
    byte[] same = scene(2);
    events.put("repost-first", ImageEvents.forSource("r1.png", "rel", tagCaption, same));
    events.put("repost-second", ImageEvents.forSource("r2.png", "rel", tagCaption, same));
    Map<String, String> nonCanonical = Map.of("octal", "http://0177.0.0.1/x.png", "hex", "http://0x7f.0.0.1/x.png",
        "one-number", "http://2130706433/x.png", "short", "http://127.1/x.png");
    nonCanonical.forEach((name, uri) -> events.put(name, uriEvent(uri, tag)));
    events.forEach((name, e) -> e.setEventId(name));

    AvroSerdes serdes = AvroSerdes.standard();
    List<WorkerMain> workers = new ArrayList<>();
    try (StreamApp app = StreamApp.start(settings)) {
      workers.add(DemoWorkers.start(settings, ModelKind.CLIP, models.clip(), -1));
      workers.add(DemoWorkers.start(settings, ModelKind.CAPTION, models.caption(), -1));
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
          KafkaClientConfig.producer(settings, "failures"), new ByteArraySerializer(), new ByteArraySerializer())) {
        for (ImageEvent e : events.values()) {
          producer.send(new ProducerRecord<>(Topics.IMAGES, e.getEventId().getBytes(StandardCharsets.UTF_8),
              serdes.imageEvent().encode(e)));
        }
      }
      StringWriter published = new StringWriter();
      int exit = new CommandLine(new Main()).setOut(new PrintWriter(published)).execute("publish", "-b",
          cluster.bootstrapServers(), "--tenant", "rel", "--tasks", "tag", "--image", served("/dir/"));
      assertThat(exit).isZero();
      Matcher publishedLine = Pattern.compile("published (uri-[0-9a-f]{16}) as event (\\S+)").matcher(published.toString());
      assertThat(publishedLine.find()).as(published.toString()).isTrue();
      String derivedImageId = publishedLine.group(1);
      String publishedEvent = publishedLine.group(2);

      Map<String, List<EnrichedImage>> enriched = new HashMap<>();
      Map<String, List<ModerationDecision>> decisions = new HashMap<>();
      Map<String, List<DeadLetter>> dead = new HashMap<>();
      List<TaskRequest> vqaTasks = new ArrayList<>();
      List<Integer> vqaPartitions = new ArrayList<>();
      List<TaskRequest> tagTasks = new ArrayList<>();
      Properties props = KafkaClientConfig.consumer(settings, "failures-reader-" + System.nanoTime(), "failures-reader");
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      try (KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
        consumer.subscribe(List.of(Topics.ENRICHED, Topics.MODERATION, Topics.DLQ, Topics.TASKS_VQA, Topics.TASKS_TAG));
        long deadline = System.currentTimeMillis() + 240_000;
        long quietUntil = Long.MAX_VALUE;
        while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            switch (r.topic()) {
              case Topics.ENRICHED -> {
                EnrichedImage e = serdes.enrichedImage().decode(r.value());
                enriched.computeIfAbsent(e.getEventId(), k -> new ArrayList<>()).add(e);
              }
              case Topics.MODERATION -> {
                ModerationDecision d = serdes.moderationDecision().decode(r.value());
                decisions.computeIfAbsent(d.getEventId(), k -> new ArrayList<>()).add(d);
              }
              case Topics.DLQ -> {
                DeadLetter d = serdes.deadLetter().decode(r.value());
                dead.computeIfAbsent(d.getEventId(), k -> new ArrayList<>()).add(d);
              }
              case Topics.TASKS_VQA -> {
                vqaTasks.add(serdes.taskRequest().decode(r.value()));
                vqaPartitions.add(r.partition());
              }
              default -> tagTasks.add(serdes.taskRequest().decode(r.value()));
            }
          }
          if (quietUntil == Long.MAX_VALUE && enriched.size() >= 6 && decisions.size() >= 6 && dead.size() >= 7) {
            quietUntil = System.currentTimeMillis() + 3_000; // duplicates would show up here
          }
        }
      }

      // fetch failure: one dead letter naming both tasks, partial record, REVIEW naming what is missing
      assertThat(dead.get("fetch-404")).singleElement().satisfies(d -> {
        assertThat(d.getStage()).isEqualTo("fetch");
        assertThat(d.getReasonCode()).isEqualTo("FETCH_FAILED");
        assertThat(d.getTaskId()).isEqualTo("fetch-404/tag,fetch-404/caption");
      });
      assertThat(enriched.get("fetch-404")).singleElement().satisfies(e -> assertThat(e.getComplete()).isFalse());
      assertThat(decisions.get("fetch-404")).singleElement().satisfies(d -> {
        assertThat(d.getAction()).isEqualTo(ModerationAction.REVIEW);
        assertThat(d.getReasons()).isNotEmpty().allSatisfy(r -> assertThat(r).contains("missing TAG (FAILED: FETCH_FAILED"));
      });
      // a task that fails at the worker (the body is no image)
      assertThat(dead.get("not-an-image")).singleElement().satisfies(d -> {
        assertThat(d.getStage()).isEqualTo("decode");
        assertThat(d.getTaskId()).isEqualTo("not-an-image/tag");
      });
      assertThat(decisions.get("not-an-image")).singleElement().satisfies(d ->
          assertThat(d.getAction()).isEqualTo(ModerationAction.REVIEW));
      // deadline: re-routed once to the other partition, then partial, one dead letter, never ALLOW
      assertThat(vqaTasks).extracting(TaskRequest::getTaskId).containsExactly("past-deadline/vqa", "past-deadline/vqa/retry");
      assertThat(vqaPartitions.get(1)).isNotEqualTo(vqaPartitions.get(0));
      assertThat(enriched.get("past-deadline")).singleElement().satisfies(e -> {
        assertThat(e.getComplete()).isFalse();
        assertThat(e.getMissing()).singleElement().satisfies(m -> assertThat(m.getReason()).startsWith("TIMEOUT"));
      });
      assertThat(dead.get("past-deadline")).singleElement().satisfies(d -> {
        assertThat(d.getReasonCode()).isEqualTo("DEADLINE_EXCEEDED");
        assertThat(d.getTaskId()).isEqualTo("past-deadline/vqa");
      });
      assertThat(decisions.get("past-deadline")).singleElement().satisfies(d -> {
        assertThat(d.getAction()).isNotEqualTo(ModerationAction.ALLOW);
        assertThat(d.getReasons()).anySatisfy(r -> assertThat(r).contains("stars: missing VQA (TIMEOUT"));
      });
      // the same bytes twice in a row: one waited and reused the other's results. Which one leads is the input
      // topic's doing (the events are keyed by event id, so they may reach the join in either order).
      assertThat(enriched.get("repost-first")).hasSize(1);
      assertThat(enriched.get("repost-second")).hasSize(1);
      EnrichedImage repostLeader = enriched.get("repost-first").get(0).getReusedFrom() == null
          ? enriched.get("repost-first").get(0) : enriched.get("repost-second").get(0);
      EnrichedImage repostFollower = repostLeader.getEventId().equals("repost-first")
          ? enriched.get("repost-second").get(0) : enriched.get("repost-first").get(0);
      assertThat(repostLeader.getComplete()).isTrue();
      assertThat(repostLeader.getReusedFrom()).isNull();
      assertThat(repostFollower.getReusedFrom()).isEqualTo(repostLeader.getEventId());
      assertThat(repostFollower.getResults()).isEqualTo(repostLeader.getResults());
      assertThat(decisions.get("repost-first")).hasSize(1);
      assertThat(decisions.get("repost-second")).hasSize(1);
      assertThat(tagTasks).extracting(TaskRequest::getEventId).contains(repostLeader.getEventId())
          .doesNotContain(repostFollower.getEventId());
      // non-canonical IPv4 literals: refused before routing, each with its own reason
      for (String name : nonCanonical.keySet()) {
        assertThat(dead.get(name)).as(name).singleElement().satisfies(d -> {
          assertThat(d.getStage()).isEqualTo("validate");
          assertThat(d.getReasonCode()).isEqualTo("NON_CANONICAL_ADDRESS");
        });
        assertThat(enriched).doesNotContainKey(name);
      }
      // publish derived an image id for the URI ending in "/", and the image was enriched under it
      assertThat(enriched.get(publishedEvent)).singleElement().satisfies(e -> {
        assertThat(e.getImageId()).isEqualTo(derivedImageId);
        assertThat(e.getComplete()).isTrue();
      });
      assertThat(dead.keySet()).containsExactlyInAnyOrder("fetch-404", "not-an-image", "past-deadline", "octal", "hex",
          "one-number", "short");
    } finally {
      workers.forEach(WorkerMain::close);
    }
  }

  @Test
  void unknownTasksSchemesAndFilesAreOneLineAndExitCode2WithNothingPublished() {
    for (List<String> args : List.of(
        List.of("publish", "-b", cluster.bootstrapServers(), "--tasks", "tag,colour", "--image", "samples/scene-01.png"),
        List.of("publish", "-b", cluster.bootstrapServers(), "--image", "ftp://example.com/a.png"),
        List.of("publish", "-b", cluster.bootstrapServers(), "--image", "no/such/file.png"),
        List.of("worker", "-b", cluster.bootstrapServers(), "--kind", "painter", "--model", "x"))) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
          .execute(args.toArray(String[]::new));
      assertThat(exit).as("%s", args).isEqualTo(2);
      assertThat(err.toString().strip()).as("%s", args).doesNotContain("\n").doesNotContain("Exception")
          .doesNotContain("Unknown option").startsWith("mmstream " + args.get(0) + ": ");
      assertThat(out.toString()).isEmpty();
    }
  }

  private static ImageEvent uriEvent(String uri, ImageEvents.Requested tasks) {
    ImageEvent event = ImageEvents.forSource("x.png", "rel", tasks, new byte[] {1});
    event.setSource(new ImageUri(uri));
    event.setContentType(null);
    return event;
  }
}

package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.cli.DemoConfig;
import io.mmstream.cli.ImageEvents;
import io.mmstream.cli.Main;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo against an external broker, run twice: the first run publishes its images only because it
 * is asked to, says it uses stable ids, and serves each worker's metrics on its own localhost port; the
 * second run (same cluster, stable application id) publishes nothing and enriches only the one event
 * that arrived since, so every event is enriched exactly once across the restart.
 */
class DemoRestartTest {
  private static KafkaTestCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = KafkaTestCluster.start();
  }

  @AfterAll
  static void stopCluster() throws Exception {
    cluster.close();
  }

  @Test
  void aRestartedDemoContinuesExactlyOnceAndPublishesSamplesOnlyWhenAsked(@TempDir Path imageDir) throws Exception {
    SceneGenerator scenes = new SceneGenerator(23, 64);
    for (int i = 0; i < 3; i++) {
      ImageIO.write(scenes.next().image(), "png", imageDir.resolve("s" + i + ".png").toFile());
    }
    String bootstrap = cluster.bootstrapServers();

    String first = runDemo("--publish-samples", "--images", imageDir.toString(), "--exit-after", "3");
    assertThat(first).contains("stable ids (application " + DemoConfig.STABLE_APPLICATION_ID)
        .contains("published 3 images");
    List<String> metricsUrls = new ArrayList<>();
    Matcher m = Pattern.compile("(http://127\\.0\\.0\\.1:\\d+/metrics)").matcher(first);
    while (m.find()) {
      metricsUrls.add(m.group(1));
    }
    assertThat(metricsUrls).as("one metrics endpoint per worker (clip, caption, vqa, chat)").hasSize(4)
        .doesNotHaveDuplicates();

    // Published while no demo runs: the restarted demo's stream app must pick it up from its committed offsets.
    ImageEvent late = ImageEvents.forSource("late.png", "demo", ImageEvents.requested(List.of("tag"), "demo",
        List.of(), List.of(), List.of()), Files.readAllBytes(imageDir.resolve("s0.png")));
    late.setEventId("after-restart");
    Settings client = Settings.empty().with(KafkaSettings.BOOTSTRAP_SERVERS.key(), bootstrap);
    try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(KafkaClientConfig.producer(client, "late"),
        new StringSerializer(), AvroSerdes.standard().imageEvent().serializer())) {
      producer.send(new ProducerRecord<>(Topics.IMAGES, late.getEventId(), late)).get();
    }
    String second = runDemo("--images", imageDir.toString(), "--exit-after", "1");
    assertThat(second).contains("not publishing the samples").doesNotContain("published 3 images");

    AvroSerdes serdes = AvroSerdes.standard();
    Properties props = KafkaClientConfig.consumer(client, "restart-reader-" + System.nanoTime(), "restart-reader");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<EnrichedImage> enriched = new ArrayList<>();
    int imageEvents = 0;
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
        new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.ENRICHED, Topics.IMAGES));
      long until = System.currentTimeMillis() + 10_000;
      while (System.currentTimeMillis() < until) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(300))) {
          if (r.topic().equals(Topics.ENRICHED)) {
            enriched.add(serdes.enrichedImage().decode(r.value()));
          } else {
            imageEvents++;
          }
        }
      }
    }
    assertThat(imageEvents).as("the samples were published once, plus the late event").isEqualTo(4);
    Map<String, Long> perEvent = enriched.stream().collect(Collectors.groupingBy(EnrichedImage::getEventId,
        Collectors.counting()));
    assertThat(perEvent).hasSize(4).containsEntry("after-restart", 1L);
    assertThat(perEvent.values()).allMatch(n -> n == 1);
  }

  /** Runs {@code bin/mmstream demo -b CLUSTER ARGS} in this JVM, returning what it printed. */
  private static String runDemo(String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("demo", "-b", cluster.bootstrapServers(), "--metrics-port", "0"));
    all.addAll(List.of(args));
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.out;
    ExecutorService runner = Executors.newSingleThreadExecutor();
    try {
      System.setOut(new PrintStream(new TeeStream(original, captured), true, StandardCharsets.UTF_8));
      Future<Integer> exit = runner.submit(() -> new picocli.CommandLine(new Main()).execute(all.toArray(String[]::new)));
      assertThat(exit.get(240, TimeUnit.SECONDS)).isZero();
    } finally {
      System.setOut(original);
      runner.shutdownNow();
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  /** Copies what the demo prints to the test log as well as to the buffer the assertions read. */
  private static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int value) throws java.io.IOException {
      a.write(value);
      b.write(value);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws java.io.IOException {
      a.write(bytes, offset, length);
      b.write(bytes, offset, length);
    }
  }
}

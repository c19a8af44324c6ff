package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.cli.DemoModels;
import io.mmstream.cli.ImageEvents;
import io.mmstream.cli.StreamAppCommand.RunningStreamApp;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.it.KafkaTestCluster;
import io.mmstream.schema.ImageEvent;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicSettings;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.TaskModelFactory;
import io.mmstream.worker.WorkerMain;
import io.mmstream.worker.WorkerSettings;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

/**
 * Every series that monitoring/ reads from the mmstream apps is in a real scrape: an embedded broker, the stream
 * app with its Prometheus registry and one worker per deployed kind running the fixture models, each serving
 * /metrics over HTTP. One valid event is enriched, one invalid event and one undecodable task per worker topic
 * are dead-lettered (dead-letter counters exist only once used), then every app is scraped and each selector of
 * the rules, panels and dashboard variables must name an exposed series with the labels it matches on. Series of
 * external exporters are the ones listed in {@link MonitoringQueries#EXTERNAL_SERIES}.
 */
class MonitoringScrapeTest {
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+\\S+.*$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void monitoring_reads_only_series_and_labels_that_the_running_apps_expose() throws Exception {
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    DemoModels models = DemoModels.resolve(null, home);
    Map<String, Set<String>> exposed = new HashMap<>();
    try (KafkaTestCluster cluster = KafkaTestCluster.start()) {
      Settings settings = Settings.empty()
          .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
          .with(TopicSettings.PARTITIONS.key(), 1)
          .with(StreamSettings.STATE_DIR.key(), Files.createTempDirectory("mmstream-scrape-state").toString())
          .with(StreamSettings.APPLICATION_ID.key(), "mmstream-scrape-" + System.nanoTime())
          .with(StreamSettings.LABEL_SETS_PATH.key(), home.resolve("config/demo/label-sets.json").toString())
          .with(StreamSettings.HTTP_PORT.key(), 0);
      List<WorkerMain> workers = new ArrayList<>();
      try (RunningStreamApp stream = RunningStreamApp.start(settings)) {
        // The chat worker serves the LLaVA fixture: the demo has no chat model yet.
        Map<String, Path> modelDirs = Map.of(ModelKind.CLIP.id(), models.clip(), ModelKind.CAPTION.id(),
            models.caption(), ModelKind.VQA.id(), models.vqa(), ModelKind.CHAT.id(),
            Path.of(System.getProperty("mmstream.fixtures"), "llava", "llava-tiny"));
        for (String kind : AppContract.WORKER_KINDS) {
          WorkerSettings ws = WorkerSettings.from(settings
              .with(WorkerSettings.KIND.key(), kind)
              .with(WorkerSettings.MODEL_DIR.key(), modelDirs.get(kind).toString())
              .with(WorkerSettings.HTTP_PORT.key(), 0)
              .with(WorkerSettings.WORKER_ID.key(), "scrape-" + kind)
              .with(WorkerSettings.DECODE_THREADS.key(), 1));
          workers.add(WorkerMain.start(ws, TaskModelFactory.forKind(ws.kind())));
        }
        assertThat(stream.app().awaitRunning(WAIT)).as("stream app running").isTrue();
        publishOneValidOneInvalidAndUndecodableTasks(settings);
        awaitEnriched(settings);

        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put(AppContract.STREAM_APP, stream.httpPort());
        workers.forEach(w -> ports.put("worker " + ports.size(), w.httpPort()));
        HttpClient http = HttpClient.newHttpClient();
        for (Map.Entry<String, Integer> app : ports.entrySet()) {
          HttpResponse<String> response = http.send(HttpRequest.newBuilder(
              URI.create("http://localhost:" + app.getValue() + AppContract.METRICS_PATH)).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(response.statusCode()).as(app.getKey() + " /metrics").isEqualTo(200);
          parse(response.body()).forEach((name, labels) ->
              exposed.computeIfAbsent(name, k -> new HashSet<>()).addAll(labels));
        }
      } finally {
        workers.forEach(WorkerMain::close);
      }
    }

    List<MonitoringQueries.Use> uses = MonitoringQueries.rawSeriesUses();
    assertThat(uses).isNotEmpty();
    for (MonitoringQueries.Use use : uses) {
      String metric = use.selector().metric();
      Set<String> labels = MonitoringQueries.EXTERNAL_SERIES.get(metric);
      if (labels == null) {
        assertThat(exposed).as(use.where() + ": series " + metric + " in: " + use.expr()).containsKey(metric);
        labels = exposed.get(metric);
      }
      Set<String> allowed = new HashSet<>(labels);
      allowed.addAll(AppContract.SCRAPE_TARGET_LABELS);
      assertThat(allowed).as(use.where() + ": labels of " + metric + " in: " + use.expr())
          .containsAll(use.selector().labels());
    }
  }

  private static void publishOneValidOneInvalidAndUndecodableTasks(Settings settings) throws Exception {
    AvroSerdes serdes = AvroSerdes.standard();
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(new SceneGenerator(7, 64).next().image(), "png", png);
    ImageEvents.Requested all = ImageEvents.requested(List.of("tag", "caption", "vqa"), "demo", List.of(),
        List.of("is there a star?"), List.of());
    ImageEvent valid = ImageEvents.forSource("scene.png", "scrape", all, png.toByteArray());
    ImageEvent badTenant = ImageEvents.forSource("scene.png", "Bad Tenant!", all, png.toByteArray());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClientConfig.producer(settings, "scrape"),
        new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ImageEvent e : List.of(valid, badTenant)) {
        producer.send(new ProducerRecord<>(Topics.IMAGES, e.getEventId().getBytes(StandardCharsets.UTF_8),
            serdes.imageEvent().serializer().serialize(Topics.IMAGES, e)));
      }
      for (String taskTopic : List.of(Topics.TASKS_TAG, Topics.TASKS_CAPTION, Topics.TASKS_VQA)) {
        producer.send(new ProducerRecord<>(taskTopic, null, "not a task".getBytes(StandardCharsets.UTF_8)));
      }
    }
  }

  /** Waits for the enriched record and for the dead letters of the invalid event and the three bad tasks. */
  private static void awaitEnriched(Settings settings) {
    Properties props = KafkaClientConfig.consumer(settings, "scrape-reader-" + System.nanoTime(), "scrape-reader");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    int enriched = 0;
    int deadLetters = 0;
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.ENRICHED, Topics.DLQ));
      long deadline = System.nanoTime() + WAIT.toNanos();
      while ((enriched < 1 || deadLetters < 4) && System.nanoTime() < deadline) {
        for (var r : consumer.poll(Duration.ofMillis(500))) {
          if (r.topic().equals(Topics.ENRICHED)) {
            enriched++;
          } else {
            deadLetters++;
          }
        }
      }
    }
    assertThat(enriched).as("enriched records").isEqualTo(1);
    assertThat(deadLetters).as("dead letters: the invalid event and one undecodable task per worker").isEqualTo(4);
  }

  /** Series name → label names, from the Prometheus text exposition format. */
  static Map<String, Set<String>> parse(String exposition) {
    Map<String, Set<String>> series = new HashMap<>();
    for (String line : exposition.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (line.startsWith("#") || !m.matches()) {
        continue;
      }
      Set<String> labels = series.computeIfAbsent(m.group(1), k -> new HashSet<>());
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.add(l.group(1));
        }
      }
    }
    return series;
  }
}

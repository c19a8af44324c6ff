package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.cli.DemoConfig;
import io.mmstream.cli.DemoModels;
import io.mmstream.cli.DemoWorkers;
import io.mmstream.cli.ImageEvents;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.StreamApp;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.WorkerMain;
import io.mmstream.worker.WorkerSettings;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
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

/**
 * A worker that dies mid-stream, on a real broker with default stream and worker settings (30 s join
 * deadline, 10 s session timeout, stable worker ids): the caption worker is stopped the way kill -9
 * stops it (its last transaction left open, no LeaveGroup) with images in flight and started again at
 * once. Every image must come out complete, exactly once, with no dead letter; the time the restarted
 * worker needs to commit again and the worst end-to-end latency are printed for the README.
 */
class WorkerCrashRecoveryTest {
  private static final int IMAGES = 20;
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
  void aWorkerKilledMidStreamAndRestartedLeavesEveryImageCompleteExactlyOnce() throws Exception {
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    Settings settings = DemoConfig.localRun(home, "crash")
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers());
    DemoModels models = DemoModels.resolve(null, home);
    WorkerMain restarted = null;
    try (StreamApp app = StreamApp.start(settings); DemoWorkers workers = DemoWorkers.start(settings, models, -1)) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      WorkerMain caption = workers.workers().get(DemoWorkers.KINDS.indexOf(ModelKind.CAPTION));
      // Built now, so that each event's time is its publish time and the latency below excludes the start-up.
      List<ImageEvent> events = newEvents("crash", 11);
      publish(settings, events);
      awaitCommitted(caption, 2);
      caption.worker().crashDuringNextCommit();
      assertThat(caption.worker().awaitTermination(Duration.ofSeconds(30))).isTrue();
      long crashedAt = System.nanoTime();
      long committedBeforeCrash = caption.metrics().tasksCommitted();
      assertThat(committedBeforeCrash).as("images still in flight at the crash").isLessThan(IMAGES);
      caption.close(); // frees the model; the group membership and the open transaction stay, as after kill -9

      restarted = DemoWorkers.start(settings, ModelKind.CAPTION, models.caption(), -1);
      long restartedAt = System.nanoTime();
      awaitCommitted(restarted, 1);
      long firstCommitAfterCrashMs = (System.nanoTime() - crashedAt) / 1_000_000;
      long firstCommitAfterStartMs = (System.nanoTime() - restartedAt) / 1_000_000;

      List<Long> crashLatencies = completeOnceAndLatencies(settings, events);
      // The same load again with no crash, on the same warm processes: what the crash cost is the difference.
      List<ImageEvent> steady = newEvents("steady", 12);
      publish(settings, steady);
      List<Long> steadyLatencies = completeOnceAndLatencies(settings, steady);
      System.out.printf("crash recovery: caption worker crashed after %d of %d tasks; restarted worker committed"
          + " again %d ms after the crash (model load included; %d ms after the restarted worker was ready); end-to-end latency from publish"
          + " median %d ms, worst %d ms with the crash; median %d ms, worst %d ms for the same load without one;"
          + " session timeout %d ms, join deadline 30000 ms%n", committedBeforeCrash, IMAGES,
          firstCommitAfterCrashMs, firstCommitAfterStartMs, crashLatencies.get(IMAGES / 2), crashLatencies.get(IMAGES - 1),
          steadyLatencies.get(IMAGES / 2), steadyLatencies.get(IMAGES - 1), WorkerSettings.SESSION_TIMEOUT_MS.defaultValue());
      assertThat(firstCommitAfterStartMs).as("partitions taken back without waiting out the session timeout")
          .isLessThan(WorkerSettings.SESSION_TIMEOUT_MS.defaultValue());
    } finally {
      if (restarted != null) {
        restarted.close();
      }
    }
  }

  private static List<ImageEvent> newEvents(String prefix, int seed) throws java.io.IOException {
    ImageEvents.Requested all = ImageEvents.requested(List.of("tag", "caption", "vqa"), "demo", List.of(),
        List.of("is there a star?"), List.of());
    SceneGenerator scenes = new SceneGenerator(seed, 64);
    List<ImageEvent> events = new ArrayList<>();
    for (int i = 0; i < IMAGES; i++) {
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      ImageIO.write(scenes.next().image(), "png", png);
      events.add(ImageEvents.forSource(prefix + "-" + i + ".png", "crash", all, png.toByteArray()));
    }
    return events;
  }

  private static void publish(Settings settings, List<ImageEvent> events) {
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
        KafkaClientConfig.producer(settings, "crash"), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ImageEvent e : events) {
        producer.send(new ProducerRecord<>(Topics.IMAGES, e.getEventId().getBytes(StandardCharsets.UTF_8),
            AvroSerdes.standard().imageEvent().encode(e)));
      }
    }
  }

  /**
   * Reads every enriched record and dead letter and asserts that each of {@code events} was enriched
   * completely, exactly once, with no dead letter; returns their end-to-end latencies, sorted.
   */
  private static List<Long> completeOnceAndLatencies(Settings settings, List<ImageEvent> events) {
    AvroSerdes serdes = AvroSerdes.standard();
    Set<String> ids = events.stream().map(ImageEvent::getEventId).collect(Collectors.toSet());
    Map<String, List<EnrichedImage>> enriched = new HashMap<>();
    List<DeadLetter> dead = new ArrayList<>();
    Properties props = KafkaClientConfig.consumer(settings, "crash-reader-" + System.nanoTime(), "crash-reader");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.ENRICHED, Topics.DLQ));
      long deadline = System.currentTimeMillis() + 180_000;
      long quietUntil = Long.MAX_VALUE;
      while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.topic().equals(Topics.ENRICHED)) {
            EnrichedImage e = serdes.enrichedImage().decode(r.value());
            if (ids.contains(e.getEventId())) {
              enriched.computeIfAbsent(e.getEventId(), k -> new ArrayList<>()).add(e);
            }
          } else {
            dead.add(serdes.deadLetter().decode(r.value()));
          }
        }
        if (quietUntil == Long.MAX_VALUE && enriched.size() >= ids.size()) {
          quietUntil = System.currentTimeMillis() + 5_000; // duplicates would show up here
        }
      }
    }
    assertThat(enriched.keySet()).containsExactlyInAnyOrderElementsOf(ids);
    List<Long> latenciesMs = new ArrayList<>();
    for (List<EnrichedImage> outs : enriched.values()) {
      assertThat(outs).as("enriched records of one image").hasSize(1);
      EnrichedImage out = outs.get(0);
      assertThat(out.getComplete()).as("complete: %s", out.getMissing()).isTrue();
      Set<TaskType> tasks = out.getResults().stream().map(TaskResult::getTask).collect(Collectors.toSet());
      assertThat(tasks).containsExactlyInAnyOrder(TaskType.TAG, TaskType.CAPTION, TaskType.VQA);
      latenciesMs.add(out.getEnrichedAt().toEpochMilli() - out.getEventTime().toEpochMilli());
    }
    assertThat(dead).isEmpty();
    latenciesMs.sort(null);
    return latenciesMs;
  }

  private static void awaitCommitted(WorkerMain worker, long count) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (worker.metrics().tasksCommitted() < count) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("worker committed only " + worker.metrics().tasksCommitted());
      }
      Thread.sleep(10);
    }
  }
}

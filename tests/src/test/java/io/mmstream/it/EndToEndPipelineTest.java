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
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.Topics;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
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
 * The whole pipeline against a real broker: the stream app and one worker per model kind running the
 * fixture checkpoints, 200+ events (valid and invalid mixed) published, and every outcome read back
 * read_committed: each valid event yields exactly one complete EnrichedImage with the requested
 * tasks, each invalid one exactly one DeadLetter with its reason.
 */
class EndToEndPipelineTest {
  private static final int VALID = 160;
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
  void everyValidEventIsEnrichedOnceAndEveryInvalidOneDeadLettered() throws Exception {
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    Settings settings = DemoConfig.localRun(home, "e2e")
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
        .with(StreamSettings.JOIN_DEADLINE_MS.key(), 300_000);
    DemoModels models = DemoModels.resolve(null, home);

    Map<String, String> expectedReason = new HashMap<>();
    List<ImageEvent> valid = new ArrayList<>();
    List<ImageEvent> invalid = new ArrayList<>();
    ImageEvents.Requested all = ImageEvents.requested(List.of("tag", "caption", "vqa"), "demo", List.of(),
        List.of("is there a star?"), List.of());
    SceneGenerator scenes = new SceneGenerator(42, 64);
    for (int i = 0; i < VALID; i++) {
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      ImageIO.write(scenes.next().image(), "png", png);
      valid.add(ImageEvents.forSource("scene-" + i + ".png", "e2e", all, png.toByteArray()));
    }
    byte[] anImage = valid.get(0).getSource() instanceof io.mmstream.schema.InlineImage in ? in.getData().array() : null;
    Random random = new Random(3);
    for (int i = 0; i < 10; i++) {
      ImageEvent badTenant = ImageEvents.forSource("t.png", "Bad Tenant!", all, anImage);
      invalid.add(badTenant);
      expectedReason.put(badTenant.getEventId(), "BAD_TENANT");
      byte[] garbage = new byte[200];
      random.nextBytes(garbage);
      ImageEvent corrupt = ImageEvents.forSource("c.png", "e2e", all, garbage);
      invalid.add(corrupt);
      expectedReason.put(corrupt.getEventId(), "NOT_AN_IMAGE");
      ImageEvent unknownSet = ImageEvents.forSource("u.png", "e2e",
          ImageEvents.requested(List.of("tag"), "no-such-set", List.of(), List.of(), List.of()), anImage);
      invalid.add(unknownSet);
      expectedReason.put(unknownSet.getEventId(), "UNKNOWN_LABEL_SET");
      ImageEvent noTasks = ImageEvents.forSource("n.png", "e2e",
          ImageEvents.requested(List.of(), null, List.of(), List.of(), List.of()), anImage);
      invalid.add(noTasks);
      expectedReason.put(noTasks.getEventId(), "NO_TASKS");
      ImageEvent longQuestion = ImageEvents.forSource("q.png", "e2e", ImageEvents.requested(List.of("vqa"), null,
          List.of(), List.of("why ".repeat(300)), List.of()), anImage);
      invalid.add(longQuestion);
      expectedReason.put(longQuestion.getEventId(), "QUESTION_TOO_LONG");
    }

    try (StreamApp app = StreamApp.start(settings);
        DemoWorkers workers = DemoWorkers.start(settings, models, -1)) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      AvroSerdes serdes = AvroSerdes.standard();
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
          KafkaClientConfig.producer(settings, "e2e"), new ByteArraySerializer(), new ByteArraySerializer())) {
        List<ImageEvent> events = new ArrayList<>(valid);
        events.addAll(invalid);
        java.util.Collections.shuffle(events, random);
        for (ImageEvent e : events) {
          producer.send(new ProducerRecord<>(Topics.IMAGES, e.getEventId().getBytes(StandardCharsets.UTF_8),
              serdes.imageEvent().serializer().serialize(Topics.IMAGES, e)));
        }
        for (int i = 0; i < 5; i++) {
          producer.send(new ProducerRecord<>(Topics.IMAGES, null, "not avro".getBytes(StandardCharsets.UTF_8)));
        }
      }

      Map<String, List<EnrichedImage>> enriched = new HashMap<>();
      Map<String, List<DeadLetter>> dead = new HashMap<>();
      List<DeadLetter> undecodable = new ArrayList<>();
      Properties props = KafkaClientConfig.consumer(settings, "e2e-reader-" + System.nanoTime(), "e2e-reader");
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      try (KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
        consumer.subscribe(List.of(Topics.ENRICHED, Topics.DLQ));
        long deadline = System.currentTimeMillis() + 600_000;
        long quietUntil = Long.MAX_VALUE;
        while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            if (r.topic().equals(Topics.ENRICHED)) {
              EnrichedImage e = serdes.enrichedImage().deserializer().deserialize(r.topic(), r.value());
              enriched.computeIfAbsent(e.getEventId(), k -> new ArrayList<>()).add(e);
            } else {
              DeadLetter d = serdes.deadLetter().deserializer().deserialize(r.topic(), r.value());
              if (d.getEventId() == null) {
                undecodable.add(d);
              } else {
                dead.computeIfAbsent(d.getEventId(), k -> new ArrayList<>()).add(d);
              }
            }
          }
          if (quietUntil == Long.MAX_VALUE && enriched.size() >= VALID && dead.size() >= invalid.size()
              && undecodable.size() >= 5) {
            quietUntil = System.currentTimeMillis() + 5_000; // keep reading a while: duplicates would show here
          }
        }
      }

      assertThat(enriched.keySet()).containsExactlyInAnyOrderElementsOf(
          valid.stream().map(ImageEvent::getEventId).toList());
      for (ImageEvent e : valid) {
        List<EnrichedImage> outs = enriched.get(e.getEventId());
        assertThat(outs).as("enriched records for %s", e.getEventId()).hasSize(1);
        EnrichedImage out = outs.get(0);
        assertThat(out.getComplete()).isTrue();
        assertThat(out.getMissing()).isEmpty();
        Set<TaskType> tasks = out.getResults().stream().map(TaskResult::getTask).collect(Collectors.toSet());
        assertThat(tasks).containsExactlyInAnyOrder(TaskType.TAG, TaskType.CAPTION, TaskType.VQA);
        for (TaskResult r : out.getResults()) {
          assertThat(r.getFailure()).isNull();
        }
      }
      assertThat(dead.keySet()).containsExactlyInAnyOrderElementsOf(expectedReason.keySet());
      for (Map.Entry<String, String> expected : expectedReason.entrySet()) {
        List<DeadLetter> letters = dead.get(expected.getKey());
        assertThat(letters).hasSize(1);
        assertThat(letters.get(0).getReasonCode()).isEqualTo(expected.getValue());
      }
      assertThat(undecodable).hasSize(5).allSatisfy(d -> assertThat(d.getStage()).isEqualTo("deserialize"));
    }
  }
}

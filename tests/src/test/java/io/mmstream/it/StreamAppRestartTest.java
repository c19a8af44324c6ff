package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.cli.ImageEvents;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import io.mmstream.schema.Timings;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicSettings;
import io.mmstream.topic.Topics;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The join's state survives a restart: an image whose tag result arrived before the stream app was
 * closed gets its caption result after the restart, and exactly one complete EnrichedImage holds both.
 */
class StreamAppRestartTest {

  @Test
  void pendingJoinStateIsRestoredAfterRestart() throws Exception {
    try (KafkaTestCluster cluster = KafkaTestCluster.start()) {
      Settings settings = Settings.empty()
          .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
          .with(TopicSettings.PARTITIONS.key(), 1)
          .with(StreamSettings.STATE_DIR.key(), Files.createTempDirectory("mmstream-restart-state").toString())
          .with(StreamSettings.APPLICATION_ID.key(), "mmstream-restart-" + System.nanoTime())
          .with(StreamSettings.JOIN_DEADLINE_MS.key(), 600_000);
      AvroSerdes serdes = AvroSerdes.standard();
      ImageEvent event = ImageEvents.forSource("one.png", "acme",
          ImageEvents.requested(List.of("tag", "caption"), null, List.of("cat", "dog"), List.of(), List.of()),
          png());

      Map<TaskType, ConsumerRecord<String, TaskRequest>> requests;
      try (StreamApp app = StreamApp.start(settings)) {
        assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
        try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(
            KafkaClientConfig.producer(settings, "restart-publish"), new StringSerializer(),
            serdes.imageEvent().serializer())) {
          producer.send(new ProducerRecord<>(Topics.IMAGES, event.getEventId(), event)).get();
        }
        requests = readRequests(settings, serdes);
        send(settings, serdes, requests.get(TaskType.TAG), TaskOutputs.newBuilder().build());
        Thread.sleep(2_000); // let the result be processed and committed before the restart
      }

      try (StreamApp app = StreamApp.start(settings)) {
        assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
        send(settings, serdes, requests.get(TaskType.CAPTION),
            TaskOutputs.newBuilder().setCaption("a cat").build());
        List<EnrichedImage> enriched = readEnriched(settings, serdes);
        assertThat(enriched).hasSize(1);
        EnrichedImage out = enriched.get(0);
        assertThat(out.getEventId()).isEqualTo(event.getEventId());
        assertThat(out.getComplete()).isTrue();
        assertThat(out.getResults()).extracting(TaskResult::getTask)
            .containsExactlyInAnyOrder(TaskType.TAG, TaskType.CAPTION);
      }
    }
  }

  private static byte[] png() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_3BYTE_BGR), "png", out);
    return out.toByteArray();
  }

  private static Map<TaskType, ConsumerRecord<String, TaskRequest>> readRequests(Settings settings, AvroSerdes serdes) {
    Properties props = KafkaClientConfig.consumer(settings, "restart-requests", "restart-requests");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<TaskType, ConsumerRecord<String, TaskRequest>> found = new HashMap<>();
    try (KafkaConsumer<String, TaskRequest> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), serdes.taskRequest().deserializer())) {
      consumer.subscribe(List.of(Topics.TASKS_TAG, Topics.TASKS_CAPTION));
      long deadline = System.currentTimeMillis() + 60_000;
      while (found.size() < 2 && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, TaskRequest> r : consumer.poll(Duration.ofMillis(200))) {
          found.put(r.value().getTask(), r);
        }
      }
    }
    assertThat(found).containsKeys(TaskType.TAG, TaskType.CAPTION);
    return found;
  }

  private static void send(Settings settings, AvroSerdes serdes, ConsumerRecord<String, TaskRequest> request,
      TaskOutputs outputs) throws Exception {
    TaskRequest r = request.value();
    TaskResult result = TaskResult.newBuilder()
        .setTaskId(r.getTaskId()).setEventId(r.getEventId()).setImageId(r.getImageId()).setTenant(r.getTenant())
        .setTask(r.getTask()).setModel(new ModelInfo("test", "1")).setOutputs(outputs)
        .setTimings(Timings.newBuilder().build()).setWorkerId("restart-test").setProducedAt(Instant.now())
        .build();
    try (KafkaProducer<String, TaskResult> producer = new KafkaProducer<>(
        KafkaClientConfig.producer(settings, "restart-results"), new StringSerializer(),
        serdes.taskResult().serializer())) {
      producer.send(new ProducerRecord<>(Topics.RESULTS, request.key(), result)).get();
    }
  }

  private static List<EnrichedImage> readEnriched(Settings settings, AvroSerdes serdes) {
    Properties props = KafkaClientConfig.consumer(settings, "restart-enriched", "restart-enriched");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<EnrichedImage> out = new ArrayList<>();
    try (KafkaConsumer<String, EnrichedImage> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), serdes.enrichedImage().deserializer())) {
      consumer.subscribe(List.of(Topics.ENRICHED));
      long deadline = System.currentTimeMillis() + 60_000;
      long quietUntil = Long.MAX_VALUE;
      while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
        consumer.poll(Duration.ofMillis(200)).forEach(r -> out.add(r.value()));
        if (!out.isEmpty() && quietUntil == Long.MAX_VALUE) {
          quietUntil = System.currentTimeMillis() + 3_000;
        }
      }
    }
    return out;
  }
}

package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.Settings;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.LabelScore;
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
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream bench stream}: the stream application's own throughput. N events (distinct
 * small PNGs asking for tag + caption) go through validate → route → join; the benchmark answers
 * every task itself, at once, so no model time is included. Prints events/s from the first publish
 * to the last EnrichedImage.
 */
@Command(name = "stream", mixinStandardHelpOptions = true,
    description = "Events/s through validate -> route -> join, with task results produced by the benchmark (no models).")
public final class BenchStreamCommand implements Callable<Integer> {

  @Option(names = "--events", defaultValue = "5000", description = "Events to push (default: ${DEFAULT-VALUE}).")
  int events;

  @Option(names = "--partitions", defaultValue = "2", description = "Partitions per topic (default: ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = {"-b", "--bootstrap-servers"}, description = "Use this cluster instead of an embedded broker.")
  String bootstrapServers;

  @Option(names = "--json", description = "Print the result as one JSON object last.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    Settings base = Settings.empty()
        .with(TopicSettings.PARTITIONS.key(), partitions)
        .with(StreamSettings.STATE_DIR.key(), Files.createTempDirectory("mmstream-bench-state").toString())
        .with(StreamSettings.APPLICATION_ID.key(), "mmstream-bench-" + System.currentTimeMillis());
    AvroSerdes serdes = AvroSerdes.standard();
    try (LocalKafka kafka = LocalKafka.startOrConnect(base, bootstrapServers);
        StreamApp app = StreamApp.start(kafka.settings())) {
      Settings settings = kafka.settings();
      if (!app.awaitRunning(Duration.ofSeconds(60))) {
        throw new IllegalStateException("stream app did not reach RUNNING");
      }
      byte[][] images = distinctImages(events);
      AtomicBoolean stop = new AtomicBoolean();
      Thread responder = new Thread(() -> answerTasks(settings, serdes, stop), "bench-responder");
      responder.start();
      long start = System.nanoTime();
      Properties producerProps = KafkaClientConfig.producer(settings, "bench-publish");
      producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      try (KafkaProducer<String, ImageEvent> producer =
          new KafkaProducer<>(producerProps, new StringSerializer(), serdes.imageEvent().serializer())) {
        ImageEvents.Requested tasks = ImageEvents.requested(List.of("tag", "caption"), null,
            List.of("cat", "dog"), List.of(), List.of());
        for (int i = 0; i < events; i++) {
          ImageEvent event = ImageEvents.forSource("bench.png", "bench", tasks, images[i]);
          producer.send(new ProducerRecord<>(Topics.IMAGES, event.getEventId(), event));
        }
      }
      int enriched = countEnriched(settings, serdes, events, Duration.ofMinutes(10));
      double seconds = (System.nanoTime() - start) / 1e9;
      stop.set(true);
      responder.join();
      double rate = enriched / seconds;
      System.out.printf(Locale.ROOT, "stream: %d events -> %d enriched in %.1f s = %.0f events/s (%d partitions, %s broker)%n",
          events, enriched, seconds, rate, partitions, kafka.embedded() ? "embedded" : "external");
      if (json) {
        System.out.printf(Locale.ROOT, "{\"events\":%d,\"enriched\":%d,\"seconds\":%.3f,\"events_per_s\":%.1f}%n",
            events, enriched, seconds, rate);
      }
      return enriched == events ? 0 : 1;
    }
  }

  /** Tiny PNGs that differ in their pixels, so no event is a repost of another. */
  private static byte[][] distinctImages(int n) throws IOException {
    byte[][] out = new byte[n][];
    Random random = new Random(7);
    BufferedImage image = new BufferedImage(16, 16, BufferedImage.TYPE_3BYTE_BGR);
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    for (int i = 0; i < n; i++) {
      for (int p = 0; p < 4; p++) {
        image.setRGB(random.nextInt(16), random.nextInt(16), random.nextInt());
      }
      image.setRGB(0, 0, i);
      buffer.reset();
      ImageIO.write(image, "png", buffer);
      out[i] = buffer.toByteArray();
    }
    return out;
  }

  /** Answers every routed task immediately, keyed like the request (the join's partitioning). */
  private static void answerTasks(Settings settings, AvroSerdes serdes, AtomicBoolean stop) {
    Properties consumerProps = KafkaClientConfig.consumer(settings, "bench-responder", "bench-responder");
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true);
    Properties producerProps = KafkaClientConfig.producer(settings, "bench-results");
    producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    try (KafkaConsumer<String, TaskRequest> consumer =
            new KafkaConsumer<>(consumerProps, new StringDeserializer(), serdes.taskRequest().deserializer());
        KafkaProducer<String, TaskResult> producer =
            new KafkaProducer<>(producerProps, new StringSerializer(), serdes.taskResult().serializer())) {
      consumer.subscribe(List.of(Topics.TASKS_TAG, Topics.TASKS_CAPTION));
      while (!stop.get()) {
        for (ConsumerRecord<String, TaskRequest> r : consumer.poll(Duration.ofMillis(100))) {
          producer.send(new ProducerRecord<>(Topics.RESULTS, r.key(), resultFor(r.value())));
        }
      }
    }
  }

  private static TaskResult resultFor(TaskRequest request) {
    TaskOutputs outputs = request.getTask() == TaskType.TAG
        ? TaskOutputs.newBuilder().setLabels(List.of(new LabelScore("cat", 1f, 0.3f))).build()
        : TaskOutputs.newBuilder().setCaption("benchmark").build();
    return TaskResult.newBuilder()
        .setTaskId(request.getTaskId()).setEventId(request.getEventId()).setImageId(request.getImageId())
        .setTenant(request.getTenant()).setTask(request.getTask())
        .setModel(new ModelInfo("bench-responder", "none")).setOutputs(outputs)
        .setTimings(Timings.newBuilder().build()).setWorkerId("bench").setProducedAt(Instant.now())
        .build();
  }

  private static int countEnriched(Settings settings, AvroSerdes serdes, int expected, Duration timeout) {
    Properties props = KafkaClientConfig.consumer(settings, "bench-count-" + System.nanoTime(), "bench-count");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    int seen = 0;
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<String, EnrichedImage> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), serdes.enrichedImage().deserializer())) {
      consumer.subscribe(List.of(Topics.ENRICHED));
      while (seen < expected && System.nanoTime() < deadline) {
        seen += consumer.poll(Duration.ofMillis(200)).count();
      }
    }
    return seen;
  }
}

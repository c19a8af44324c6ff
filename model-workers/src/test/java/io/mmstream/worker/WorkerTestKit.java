package io.mmstream.worker;

import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Topics, task records, images and committed-output readers for the worker's broker tests. */
final class WorkerTestKit {
  static final Duration WAIT = Duration.ofSeconds(90);

  private WorkerTestKit() {}

  static void createTopics(EmbeddedKafkaBroker broker, int taskPartitions) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
      admin.createTopics(
              List.of(
                  new NewTopic(WorkerTopics.taskTopic(ModelKind.CLIP), taskPartitions, (short) 1),
                  new NewTopic(WorkerTopics.RESULTS, 2, (short) 1),
                  new NewTopic(WorkerTopics.DEAD_LETTERS, 1, (short) 1)))
          .all()
          .get();
    }
  }

  /** Settings for a clip worker on {@code broker}; {@code extra} overrides. */
  static WorkerSettings settings(EmbeddedKafkaBroker broker, Map<String, String> extra) {
    Map<String, String> values = new HashMap<>();
    values.put("kafka.bootstrap.servers", broker.bootstrapServers());
    values.put("worker.kind", "clip");
    values.put("worker.model.preset", "fixture");
    values.put("worker.id", "test-worker");
    values.put("worker.http.port", "-1");
    values.put("worker.decode.threads", "2");
    values.put("worker.commit.interval.ms", "50");
    values.put("worker.transaction.timeout.ms", "10000");
    values.put("worker.progress.interval.ms", "2000");
    values.put("worker.shutdown.timeout.ms", "20000");
    values.putAll(extra);
    return WorkerSettings.fromMap(values);
  }

  /** A PNG of random pixels. */
  static byte[] png(long seed, int width, int height) {
    Random random = new Random(seed);
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.setRGB(x, y, random.nextInt(0x1000000));
      }
    }
    return encode(image, "png");
  }

  static byte[] encode(BufferedImage image, String format) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, format, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static TaskRequest task(String taskId, byte[] image, List<String> labels, Instant deadline) {
    return TaskRequest.newBuilder()
        .setTaskId(taskId)
        .setEventId("event-" + taskId)
        .setImageId("image-" + taskId)
        .setTenant("tenant-a")
        .setTask(TaskType.TAG)
        .setSource(new InlineImage(ByteBuffer.wrap(image)))
        .setTag(TagTask.newBuilder().setLabels(labels).build())
        .setContentHash("hash-" + taskId)
        .setEventTime(Instant.now())
        .setDeadline(deadline)
        .build();
  }

  static TaskRequest task(String taskId, byte[] image) {
    return task(taskId, image, List.of("cat", "dog"), Instant.now().plus(Duration.ofHours(1)));
  }

  static void produce(EmbeddedKafkaBroker broker, List<TaskRequest> tasks) {
    List<byte[]> values = new ArrayList<>();
    tasks.forEach(t -> values.add(WorkerTopics.encodeTask(t)));
    produceRaw(broker, values);
  }

  static void produceRaw(EmbeddedKafkaBroker broker, List<byte[]> values) {
    Map<String, Object> config = Map.of("bootstrap.servers", broker.bootstrapServers(), "linger.ms", 5);
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
      int i = 0;
      for (byte[] value : values) {
        producer.send(new ProducerRecord<>(WorkerTopics.taskTopic(ModelKind.CLIP), "k" + (i++), value));
      }
      producer.flush();
    }
  }

  /** Every record on {@code topic} visible to a reader at {@code isolation}, from the start to the end. */
  static List<byte[]> readAll(EmbeddedKafkaBroker broker, String topic, String isolation) {
    Map<String, Object> config =
        Map.of("bootstrap.servers", broker.bootstrapServers(), "isolation.level", isolation, "enable.auto.commit", "false");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<byte[]> values = new ArrayList<>();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          values.add(record.value());
        }
      }
      return values;
    }
  }

  static List<TaskResult> committedResults(EmbeddedKafkaBroker broker) {
    List<TaskResult> results = new ArrayList<>();
    for (byte[] value : readAll(broker, WorkerTopics.RESULTS, "read_committed")) {
      try {
        results.add(WorkerTopics.decodeResult(value));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return results;
  }

  static List<DeadLetter> committedDeadLetters(EmbeddedKafkaBroker broker) {
    List<DeadLetter> letters = new ArrayList<>();
    for (byte[] value : readAll(broker, WorkerTopics.DEAD_LETTERS, "read_committed")) {
      try {
        letters.add(WorkerTopics.decodeDeadLetter(value));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return letters;
  }

  /** Reads committed results until {@code done} holds for them; fails after {@link #WAIT}. */
  static List<TaskResult> awaitResults(EmbeddedKafkaBroker broker, Predicate<List<TaskResult>> done) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      List<TaskResult> results = committedResults(broker);
      if (done.test(results)) {
        return results;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("results did not arrive; have " + results.size());
      }
      Thread.sleep(200);
    }
  }

  /** Runs the worker's model directly on one task: what its result must equal. */
  static List<Float> directEmbedding(MeanColourModel model, ImageLoader loader, TaskRequest request) throws TaskRejectedException {
    return model.runBatch(List.of(model.prepare(request, loader.load(request)))).get(0).getEmbedding();
  }
}

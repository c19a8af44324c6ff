package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import io.mmstream.worker.models.BuiltInModelFactory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Collectors;
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

  // Real serdes, created with the class: the first one also puts the wire-format classes on Avro's
  // allow-list, which the generated builders need for their defaults.
  private static final AvroSerde<TaskRequest> REQUESTS = AvroSerdes.standard().taskRequest();
  private static final AvroSerde<TaskResult> RESULTS = AvroSerdes.standard().taskResult();
  private static final AvroSerde<DeadLetter> DEAD_LETTERS = AvroSerdes.standard().deadLetter();

  /** The task topics of every kind (several partitions), results and dead letters. */
  static void createTopics(EmbeddedKafkaBroker broker, int taskPartitions) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
      List<NewTopic> topics = new ArrayList<>();
      for (String task : List.of(Topics.TASKS_TAG, Topics.TASKS_CAPTION, Topics.TASKS_VQA)) {
        topics.add(new NewTopic(task, taskPartitions, (short) 1));
      }
      topics.add(new NewTopic(Topics.RESULTS, 2, (short) 1));
      topics.add(new NewTopic(Topics.DLQ, 1, (short) 1));
      admin.createTopics(topics).all().get();
    }
  }

  /** Settings for a clip worker on {@code broker} with a preset name the test factories ignore; {@code extra} overrides. */
  static WorkerSettings settings(EmbeddedKafkaBroker broker, Map<String, String> extra) {
    Map<String, String> values = new HashMap<>();
    values.put(KafkaSettings.BOOTSTRAP_SERVERS.key(), broker.bootstrapServers());
    values.put(WorkerSettings.KIND.key(), "clip");
    values.put(WorkerSettings.MODEL_PRESET.key(), "fixture");
    values.put(WorkerSettings.WORKER_ID.key(), "test-worker");
    values.put(WorkerSettings.HTTP_PORT.key(), "-1");
    values.put(WorkerSettings.DECODE_THREADS.key(), "2");
    values.put(WorkerSettings.COMMIT_INTERVAL_MS.key(), "50");
    values.put(WorkerSettings.TRANSACTION_TIMEOUT_MS.key(), "10000");
    values.put(WorkerSettings.PROGRESS_INTERVAL_MS.key(), "2000");
    values.put(WorkerSettings.SHUTDOWN_TIMEOUT_MS.key(), "20000");
    values.putAll(extra);
    return WorkerSettings.from(Settings.of(values));
  }

  /** The stream app's key of a task: tenant/contentHash. */
  static String key(TaskRequest task) {
    return task.getTenant() + "/" + task.getContentHash();
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

  static byte[] encode(TaskRequest task) {
    return REQUESTS.encode(task);
  }

  /** Produces the tasks to {@code kind}'s topic, each keyed tenant/contentHash as the stream app keys them. */
  static void produce(EmbeddedKafkaBroker broker, ModelKind kind, List<TaskRequest> tasks) {
    Map<String, byte[]> records = new LinkedHashMap<>();
    tasks.forEach(t -> records.put(key(t), encode(t)));
    produceRaw(broker, kind, records);
  }

  static void produce(EmbeddedKafkaBroker broker, List<TaskRequest> tasks) {
    produce(broker, ModelKind.CLIP, tasks);
  }

  /** Produces raw values by key, in order. */
  static void produceRaw(EmbeddedKafkaBroker broker, ModelKind kind, Map<String, byte[]> records) {
    Map<String, Object> config = Map.of("bootstrap.servers", broker.bootstrapServers(), "linger.ms", 5);
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
      records.forEach((key, value) -> producer.send(new ProducerRecord<>(kind.taskTopic(), key, value)));
      producer.flush();
    }
  }

  /** Every value on {@code topic} visible to a reader at {@code isolation}, from the start to the end. */
  static List<byte[]> readAll(EmbeddedKafkaBroker broker, String topic, String isolation) {
    return readRecords(broker, topic, isolation).stream().map(ConsumerRecord::value).toList();
  }

  /** Every record on {@code topic} visible to a reader at {@code isolation}, from the start to the end. */
  static List<ConsumerRecord<byte[], byte[]>> readRecords(EmbeddedKafkaBroker broker, String topic, String isolation) {
    Map<String, Object> config =
        Map.of("bootstrap.servers", broker.bootstrapServers(), "isolation.level", isolation, "enable.auto.commit", "false");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      return records;
    }
  }

  static List<TaskResult> committedResults(EmbeddedKafkaBroker broker) {
    return readAll(broker, Topics.RESULTS, "read_committed").stream().map(v -> RESULTS.decode(v)).toList();
  }

  /** Committed results by Kafka key (UTF-8). */
  static Map<String, List<TaskResult>> committedResultsByKey(EmbeddedKafkaBroker broker) {
    Map<String, List<TaskResult>> byKey = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : readRecords(broker, Topics.RESULTS, "read_committed")) {
      byKey.computeIfAbsent(new String(record.key(), StandardCharsets.UTF_8), k -> new ArrayList<>())
          .add(RESULTS.decode(record.value()));
    }
    return byKey;
  }

  static List<DeadLetter> committedDeadLetters(EmbeddedKafkaBroker broker) {
    return readAll(broker, Topics.DLQ, "read_committed").stream().map(v -> DEAD_LETTERS.decode(v)).toList();
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

  /** Runs a model directly on one task, alone in its batch: what the worker's result must equal. */
  static <P> TaskOutputs direct(TaskModel<P> model, ImageLoader loader, TaskRequest request) throws TaskRejectedException {
    return model.runBatch(List.of(model.prepare(request, loader.load(request)))).get(0);
  }

  /**
   * Runs a worker of {@code kind} on the model in {@code modelDir} over {@code tasks}; returns their committed
   * results in task order, each checked to be the only result under its request's key and not a failure.
   */
  static List<TaskResult> runOnModel(EmbeddedKafkaBroker broker, ModelKind kind, Path modelDir, String workerId,
      List<TaskRequest> tasks, Map<String, String> extra) throws Exception {
    Map<String, String> values = new HashMap<>(extra);
    values.put(WorkerSettings.KIND.key(), kind.id());
    values.put(WorkerSettings.MODEL_PRESET.key(), "");
    values.put(WorkerSettings.MODEL_DIR.key(), modelDir.toString());
    values.put(WorkerSettings.WORKER_ID.key(), workerId);
    values.put(WorkerSettings.BATCH_MAX_SIZE.key(), "4");
    WorkerSettings settings = settings(broker, values);
    List<String> ids = tasks.stream().map(TaskRequest::getTaskId).toList();
    produce(broker, kind, tasks);
    try (WorkerMain ignored = WorkerMain.start(settings, new BuiltInModelFactory())) {
      awaitResults(broker, r -> r.stream().map(TaskResult::getTaskId).collect(Collectors.toSet()).containsAll(ids));
    }
    Map<String, List<TaskResult>> byKey = committedResultsByKey(broker);
    List<TaskResult> results = new ArrayList<>();
    for (TaskRequest task : tasks) {
      // The result is keyed like its request: tenant/contentHash, the stream app's join key.
      List<TaskResult> forKey = byKey.get(key(task));
      assertThat(forKey).as(task.getTaskId()).extracting(TaskResult::getTaskId).containsExactly(task.getTaskId());
      TaskResult result = forKey.get(0);
      assertThat(result.getFailure()).as(task.getTaskId()).isNull();
      results.add(result);
    }
    return results;
  }

  /** A task of {@code type} on {@code image} (no tag part), with a content hash of its own. */
  static TaskRequest.Builder request(String taskId, TaskType type, byte[] image) {
    return TaskRequest.newBuilder(task(taskId, image)).setTask(type).setTag(null).setContentHash("hash-" + taskId);
  }
}

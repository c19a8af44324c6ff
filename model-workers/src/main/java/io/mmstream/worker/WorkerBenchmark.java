package io.mmstream.worker;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageLimits;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.VqaTask;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
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
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Measures a worker end to end (tasks produced to Kafka, results read back with read_committed)
 * against the same model called directly in-process at the same batch size, then latency at
 * fractions of the measured capacity with Poisson arrivals. "Directly" means load + decode +
 * preprocess + forward in a plain loop on one thread: the same work per image, without Kafka. The
 * two throughput figures are taken in alternating rounds, each path's total over all rounds.
 */
public final class WorkerBenchmark {

  public record Options(
      ModelKind kind,
      ModelSource source,
      int batch,
      int tasks,
      Duration loadDuration,
      List<Double> loads,
      int imageWidth,
      int imageHeight,
      int partitions,
      int rounds,
      Map<String, String> workerSettings) {}

  public record LoadLatency(double load, double offeredPerSecond, int tasks, double p50Ms, double p99Ms) {}

  public record Report(int batch, double directItemsPerSecond, double endToEndItemsPerSecond, List<LoadLatency> latency) {
    public double ratio() {
      return endToEndItemsPerSecond / directItemsPerSecond;
    }

    /** {"batch":B,"direct_items_per_s":X,"end_to_end_items_per_s":Y,"ratio":R,"latency_ms":{"0.5":{"p50":..,"p99":..},..}} */
    public String toJson() {
      ObjectMapper mapper = new ObjectMapper();
      ObjectNode root = mapper.createObjectNode();
      root.put("batch", batch);
      root.put("direct_items_per_s", round(directItemsPerSecond));
      root.put("end_to_end_items_per_s", round(endToEndItemsPerSecond));
      root.put("ratio", Math.round(ratio() * 1000) / 1000.0);
      ObjectNode latencies = root.putObject("latency_ms");
      for (LoadLatency l : latency) {
        ObjectNode node = latencies.putObject(String.valueOf(l.load()));
        node.put("p50", round(l.p50Ms()));
        node.put("p99", round(l.p99Ms()));
      }
      return root.toString();
    }

    private static double round(double value) {
      return Math.round(value * 100) / 100.0;
    }
  }

  /** Batches run untimed before each measurement, on both paths. */
  private static final int WARM_UP_BATCHES = 4;

  private final String bootstrapServers;
  private final TaskModelFactory factory;
  private final Options options;
  private final Consumer<String> log;
  private final List<byte[]> images = new ArrayList<>();
  private final AvroSerde<TaskRequest> requestSerde = AvroSerdes.standard().taskRequest();
  private final AvroSerde<TaskResult> resultSerde = AvroSerdes.standard().taskResult();

  public WorkerBenchmark(String bootstrapServers, TaskModelFactory factory, Options options, Consumer<String> log) {
    if (options.kind() == ModelKind.CHAT) {
      throw new IllegalArgumentException("the worker benchmark sends image tasks; the chat kind is not covered");
    }
    this.bootstrapServers = bootstrapServers;
    this.factory = factory;
    this.options = options;
    this.log = log;
    Random random = new Random(42);
    for (int i = 0; i < 16; i++) {
      images.add(jpeg(random, options.imageWidth(), options.imageHeight()));
    }
  }

  public Report run() throws Exception {
    createTopics();
    Map<String, String> values = new HashMap<>(options.workerSettings());
    values.put(KafkaSettings.BOOTSTRAP_SERVERS.key(), bootstrapServers);
    values.put(WorkerSettings.KIND.key(), options.kind().id());
    ModelSource source = options.source();
    if (source.directory() != null) {
      values.put(WorkerSettings.MODEL_DIR.key(), source.directory().toString());
    } else {
      values.put(WorkerSettings.MODEL_PRESET.key(), source.preset());
      if (source.tokenizerDirectory() != null) {
        values.put(WorkerSettings.TOKENIZER_DIR.key(), source.tokenizerDirectory().toString());
      }
    }
    values.put(WorkerSettings.WORKER_ID.key(), "bench");
    values.put(WorkerSettings.BATCH_MAX_SIZE.key(), String.valueOf(options.batch()));
    values.put(WorkerSettings.HTTP_PORT.key(), "-1");
    WorkerSettings settings = WorkerSettings.from(Settings.of(values));
    try (DirectRunner direct = new DirectRunner();
        ResultWatcher results = new ResultWatcher();
        KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(Map.of("bootstrap.servers", bootstrapServers, "linger.ms", 2), new StringSerializer(), new ByteArraySerializer());
        WorkerMain worker = WorkerMain.start(settings, factory)) {
      List<String> warm = new ArrayList<>();
      for (int i = 0; i < WARM_UP_BATCHES * options.batch(); i++) {
        warm.add(send(producer, "warm-" + i));
      }
      results.await(warm, Duration.ofMinutes(10));

      // The two paths alternate in rounds, so that load from other processes on a shared machine
      // falls on both about equally instead of on whichever ran during a busy spell.
      int perRound = Math.max(options.batch(), options.tasks() / options.rounds() / options.batch() * options.batch());
      long endToEndNanos = 0;
      long directNanos = 0;
      int endToEndItems = 0;
      int directItems = 0;
      for (int round = 0; round < options.rounds(); round++) {
        List<String> ids = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < perRound; i++) {
          ids.add(send(producer, "capacity-" + round + "-" + i));
        }
        producer.flush();
        long roundNanos = results.await(ids, Duration.ofMinutes(30)) - start;
        long roundDirectNanos = direct.time(perRound / options.batch());
        endToEndNanos += roundNanos;
        endToEndItems += perRound;
        directNanos += roundDirectNanos;
        directItems += perRound;
        log.accept(String.format(Locale.ROOT, "round %d: end to end %.2f items/s, direct %.2f items/s", round + 1,
            perRound * 1e9 / roundNanos, perRound * 1e9 / roundDirectNanos));
      }
      double endToEnd = endToEndItems * 1e9 / endToEndNanos;
      double directRate = directItems * 1e9 / directNanos;
      log.accept(String.format(Locale.ROOT, "end to end %.2f items/s, direct %.2f items/s at batch %d (ratio %.3f)",
          endToEnd, directRate, options.batch(), endToEnd / directRate));

      List<LoadLatency> latencies = new ArrayList<>();
      for (double load : options.loads()) {
        latencies.add(measureLatency(producer, results, load, load * endToEnd));
      }
      return new Report(options.batch(), directRate, endToEnd, latencies);
    }
  }

  private void createTopics() throws InterruptedException, ExecutionException {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
      for (NewTopic topic :
          List.of(
              new NewTopic(options.kind().taskTopic(), options.partitions(), (short) 1),
              new NewTopic(Topics.RESULTS, 1, (short) 1),
              new NewTopic(Topics.DLQ, 1, (short) 1))) {
        try {
          admin.createTopics(List.of(topic)).all().get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
    }
  }

  /**
   * The same model called directly, owned by one dedicated thread the way the worker's executor
   * thread owns its model, so both figures come from the same kind of thread. Loaded and warmed up
   * (with untimed batches, as the worker gets warm-up tasks) before anything is timed.
   */
  private final class DirectRunner implements AutoCloseable {
    private final ExecutorService thread =
        Executors.newSingleThreadExecutor(r -> new Thread(r, "mmstream-bench-direct"));
    private final TaskModel<?> model;

    DirectRunner() throws InterruptedException, ExecutionException {
      model = thread.submit(() -> {
        TaskModel<?> loaded = (TaskModel<?>) factory.load(options.kind(), options.source(), Device.cpu(), false, Settings.empty());
        loaded.warmUp(options.batch());
        runDirect(loaded, WARM_UP_BATCHES);
        return loaded;
      }).get();
    }

    /** Nanoseconds to run {@code batches} batches of load + decode + preprocess + forward. */
    long time(int batches) throws InterruptedException, ExecutionException {
      return thread.submit(() -> {
        long start = System.nanoTime();
        runDirect(model, batches);
        return System.nanoTime() - start;
      }).get();
    }

    @Override
    public void close() throws InterruptedException, ExecutionException {
      thread.submit(model::close).get();
      thread.shutdown();
    }
  }

  private <P> void runDirect(TaskModel<P> model, int batches) throws TaskRejectedException {
    ImageLoader loader = new ImageLoader(ImageLimits.defaults());
    for (int b = 0; b < batches; b++) {
      List<P> inputs = new ArrayList<>();
      for (int i = 0; i < options.batch(); i++) {
        TaskRequest request = request("direct-" + b + "-" + i, b * options.batch() + i);
        inputs.add(model.prepare(request, loader.load(request)));
      }
      if (model.runBatch(inputs).size() != inputs.size()) {
        throw new IllegalStateException("model returned the wrong number of outputs");
      }
    }
  }

  private LoadLatency measureLatency(KafkaProducer<String, byte[]> producer, ResultWatcher results, double load, double rate) {
    int count = Math.max(1, (int) Math.round(rate * options.loadDuration().toNanos() / 1e9));
    Random random = new Random(7);
    Map<String, Long> intended = new ConcurrentHashMap<>();
    List<String> ids = new ArrayList<>();
    long next = System.nanoTime();
    for (int i = 0; i < count; i++) {
      next += (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
      long wait;
      while ((wait = next - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      String id = send(producer, "load-" + load + "-" + i);
      // Latency counts from the scheduled arrival, so a late send does not hide queueing.
      intended.put(id, next);
      ids.add(id);
    }
    results.await(ids, Duration.ofMinutes(30));
    Histogram histogram = new Histogram(3);
    for (String id : ids) {
      histogram.recordValue(Math.max(0, (results.arrival(id) - intended.get(id)) / 1000));
    }
    LoadLatency latency =
        new LoadLatency(load, rate, count, histogram.getValueAtPercentile(50) / 1000.0, histogram.getValueAtPercentile(99) / 1000.0);
    log.accept(
        String.format(
            Locale.ROOT, "load %.2f (%.2f tasks/s, %d tasks): p50 %.1f ms, p99 %.1f ms", load, rate, count, latency.p50Ms(), latency.p99Ms()));
    return latency;
  }

  private String send(KafkaProducer<String, byte[]> producer, String taskId) {
    TaskRequest request = request(taskId, taskId.hashCode());
    producer.send(new ProducerRecord<>(options.kind().taskTopic(), taskId, requestSerde.encode(request)));
    return taskId;
  }

  private TaskRequest request(String taskId, int imageIndex) {
    TaskRequest.Builder builder =
        TaskRequest.newBuilder()
            .setTaskId(taskId)
            .setEventId("event-" + taskId)
            .setImageId("image-" + taskId)
            .setTenant("bench")
            .setTask(options.kind().taskType())
            .setSource(new InlineImage(ByteBuffer.wrap(images.get(Math.floorMod(imageIndex, images.size())))))
            .setContentType("image/jpeg")
            .setContentHash(Integer.toHexString(imageIndex))
            .setEventTime(Instant.now())
            .setDeadline(Instant.now().plus(Duration.ofHours(1)));
    switch (options.kind()) {
      case CLIP -> builder.setTag(TagTask.newBuilder().setLabels(List.of("cat", "dog", "car", "landscape")).build());
      case CAPTION -> builder.setCaption(new CaptionTask(null));
      case VQA, INSTRUCT -> builder.setVqa(VqaTask.newBuilder().setQuestions(List.of("what is in the picture?")).build());
    }
    return builder.build();
  }

  /** Smooth colour gradients plus noise: compresses like a photo, unlike pure noise. */
  private static byte[] jpeg(Random random, int width, int height) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    int r0 = random.nextInt(256);
    int g0 = random.nextInt(256);
    int b0 = random.nextInt(256);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int r = (r0 + x * 255 / width + random.nextInt(16)) & 0xFF;
        int g = (g0 + y * 255 / height + random.nextInt(16)) & 0xFF;
        int b = (b0 + (x + y) * 128 / (width + height) + random.nextInt(16)) & 0xFF;
        image.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "jpeg", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Reads committed results from the end of the topic and records when each task's result arrived. */
  private final class ResultWatcher implements AutoCloseable {
    private final Map<String, Long> arrivals = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stop;
    private volatile RuntimeException failure;

    ResultWatcher() {
      KafkaConsumer<byte[], byte[]> consumer =
          new KafkaConsumer<>(
              Map.of("bootstrap.servers", bootstrapServers, "isolation.level", "read_committed", "enable.auto.commit", "false"),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      List<TopicPartition> partitions = new ArrayList<>();
      consumer.partitionsFor(Topics.RESULTS).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      partitions.forEach(consumer::position);
      thread = new Thread(() -> watch(consumer), "mmstream-bench-results");
      thread.setDaemon(true);
      thread.start();
    }

    private void watch(KafkaConsumer<byte[], byte[]> consumer) {
      try (consumer) {
        while (!stop) {
          for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(5))) {
            long now = System.nanoTime();
            TaskResult result = resultSerde.decode(record.value());
            if (result.getFailure() != null) {
              failure = new IllegalStateException("task " + result.getTaskId() + " failed: " + result.getFailure());
            }
            arrivals.putIfAbsent(result.getTaskId(), now);
          }
        }
      } catch (RuntimeException e) {
        failure = e;
      }
    }

    /** Waits for every id's result; returns the latest arrival time. */
    long await(List<String> ids, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      long latest = 0;
      for (String id : ids) {
        Long arrival;
        while ((arrival = arrivals.get(id)) == null) {
          if (failure != null) {
            throw failure;
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("no result for " + id + " within " + timeout);
          }
          LockSupport.parkNanos(1_000_000);
        }
        latest = Math.max(latest, arrival);
      }
      return latest;
    }

    long arrival(String id) {
      return arrivals.get(id);
    }

    @Override
    public void close() {
      stop = true;
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}

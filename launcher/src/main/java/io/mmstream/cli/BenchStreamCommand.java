package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.Settings;
import io.mmstream.schema.DeadLetter;
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
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream bench stream}: the stream application's throughput against Kafka's own floor. N
 * events (distinct small PNGs asking for tag + caption) go through validate → route → join; the
 * benchmark answers every task itself, at once, so no model time is included. Then, on the same broker
 * with the same Streams settings and the same event bytes, a pass-through topology (one source, one
 * sink) carries N events. Both run an untimed warm-up first (the JIT, the group, the transactions) and
 * are timed from the first publish to the last output read. Records and broker bytes per event come
 * from the end offsets and log sizes of every topic and changelog the phase wrote, before and after.
 */
@Command(name = "stream", mixinStandardHelpOptions = true,
    description = "Events/s through validate -> route -> join (task results produced by the benchmark, no models), "
        + "beside a pass-through topology with the same settings on the same broker.")
public final class BenchStreamCommand implements Callable<Integer> {

  static final String PASSTHROUGH_IN = "bench.passthrough.in";
  static final String PASSTHROUGH_OUT = "bench.passthrough.out";

  @Option(names = "--events", defaultValue = "5000", description = "Timed events per topology (default: ${DEFAULT-VALUE}).")
  int events;

  @Option(names = "--warmup-events", defaultValue = "10000",
      description = "Untimed events per topology before the timed ones (default: ${DEFAULT-VALUE}).")
  int warmupEvents;

  @Option(names = "--partitions", defaultValue = "2", description = "Partitions per topic (default: ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = {"-b", "--bootstrap-servers"}, description = "Use this cluster instead of an embedded broker.")
  String bootstrapServers;

  @Option(names = "--json", description = "Print the result as one JSON object last.")
  boolean json;

  /** One timed phase: how long it took and what it left on the broker, per topic. */
  record Phase(int outputs, double seconds, Map<String, Long> records, Map<String, Long> bytes) {
    double rate() {
      return outputs / seconds;
    }

    double perEvent(Map<String, Long> counts, int events) {
      return counts.values().stream().mapToLong(Long::longValue).sum() / (double) events;
    }
  }

  @Override
  public Integer call() throws Exception {
    String applicationId = "mmstream-bench-" + System.currentTimeMillis();
    Settings base = Settings.empty()
        .with(TopicSettings.PARTITIONS.key(), partitions)
        .with(StreamSettings.STATE_DIR.key(), Files.createTempDirectory("mmstream-bench-state").toString())
        .with(StreamSettings.APPLICATION_ID.key(), applicationId);
    AvroSerdes serdes = AvroSerdes.standard();
    byte[][] images = distinctImages(2 * (warmupEvents + events));
    ImageEvents.Requested tasks = ImageEvents.requested(List.of("tag", "caption"), null, List.of("cat", "dog"),
        List.of(), List.of());
    List<byte[]> payloads = new ArrayList<>(images.length);
    for (byte[] image : images) {
      payloads.add(serdes.imageEvent().encode(ImageEvents.forSource("bench.png", "bench", tasks, image)));
    }
    try (LocalKafka kafka = LocalKafka.startOrConnect(base, bootstrapServers);
        Admin admin = Admin.create(KafkaClientConfig.admin(kafka.settings(), "bench-admin"))) {
      Settings settings = kafka.settings();
      Properties streamsProps = StreamApp.streamsProperties(settings);
      Phase enrichment;
      try (StreamApp app = StreamApp.start(settings)) {
        if (!app.awaitRunning(Duration.ofSeconds(60))) {
          throw new IllegalStateException("stream app did not reach RUNNING");
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread responder = new Thread(() -> answerTasks(settings, serdes, stop), "bench-responder");
        responder.start();
        try {
          Predicate<String> written = t -> t.startsWith("mm.") || t.startsWith(applicationId + "-");
          run(admin, settings, Topics.IMAGES, Topics.ENRICHED, payloads.subList(0, warmupEvents), written);
          enrichment = run(admin, settings, Topics.IMAGES, Topics.ENRICHED,
              payloads.subList(warmupEvents, warmupEvents + events), written);
          reportDeadLetters(settings, serdes);
        } finally {
          stop.set(true);
          responder.join();
        }
      }
      Phase passthrough;
      admin.createTopics(List.of(new NewTopic(PASSTHROUGH_IN, partitions, (short) 1),
          new NewTopic(PASSTHROUGH_OUT, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
      streamsProps.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId + "-passthrough");
      try (KafkaStreams streams = new KafkaStreams(passthroughTopology(), streamsProps)) {
        streams.start();
        awaitRunning(streams);
        Predicate<String> written = t -> t.startsWith("bench.passthrough.") || t.startsWith(applicationId + "-passthrough-");
        int offset = warmupEvents + events;
        run(admin, settings, PASSTHROUGH_IN, PASSTHROUGH_OUT, payloads.subList(offset, offset + warmupEvents), written);
        passthrough = run(admin, settings, PASSTHROUGH_IN, PASSTHROUGH_OUT,
            payloads.subList(offset + warmupEvents, offset + warmupEvents + events), written);
      }
      print(enrichment, passthrough, streamsProps, kafka.embedded(),
          (int) payloads.stream().mapToInt(b -> b.length).average().orElse(0));
      return enrichment.outputs() == events && passthrough.outputs() == events ? 0 : 1;
    }
  }

  private void print(Phase enrichment, Phase passthrough, Properties streamsProps, boolean embedded, int eventBytes) {
    double ratio = enrichment.rate() / passthrough.rate();
    String guarantee = streamsProps.getProperty(StreamsConfig.PROCESSING_GUARANTEE_CONFIG);
    Object commitMs = streamsProps.getOrDefault(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100 (exactly-once default)");
    System.out.printf(Locale.ROOT, "stream: %d events -> %d enriched in %.1f s = %.0f events/s (%d partitions, %s broker,"
            + " %s, commit interval %s ms, %d-byte events on average, after %d warm-up events)%n", events, enrichment.outputs(),
        enrichment.seconds(), enrichment.rate(), partitions, embedded ? "embedded" : "external", guarantee, commitMs,
        eventBytes, warmupEvents);
    System.out.printf(Locale.ROOT, "pass-through: %d events in %.1f s = %.0f events/s; ratio %.2f%n",
        passthrough.outputs(), passthrough.seconds(), passthrough.rate(), ratio);
    System.out.println("records and bytes per event, by topic (end offsets and log sizes; transaction markers included):");
    for (Phase phase : List.of(enrichment, passthrough)) {
      phase.records().forEach((topic, n) -> System.out.printf(Locale.ROOT, "  %-60s %6.2f records %8.0f bytes%n",
          topic, n / (double) events, phase.bytes().getOrDefault(topic, 0L) / (double) events));
    }
    if (json) {
      System.out.printf(Locale.ROOT, "{\"events\":%d,\"warmup_events\":%d,\"partitions\":%d,\"processing_guarantee\":\"%s\","
              + "\"event_bytes\":%d,\"enriched\":%d,\"seconds\":%.3f,\"events_per_s\":%.1f,\"passthrough_seconds\":%.3f,"
              + "\"passthrough_events_per_s\":%.1f,\"ratio\":%.3f,\"records_per_event\":%.3f,"
              + "\"passthrough_records_per_event\":%.3f,\"broker_bytes_per_event\":%.0f,"
              + "\"passthrough_broker_bytes_per_event\":%.0f}%n",
          events, warmupEvents, partitions, guarantee, eventBytes, enrichment.outputs(), enrichment.seconds(),
          enrichment.rate(), passthrough.seconds(), passthrough.rate(), ratio, enrichment.perEvent(enrichment.records(), events),
          passthrough.perEvent(passthrough.records(), events), enrichment.perEvent(enrichment.bytes(), events),
          passthrough.perEvent(passthrough.bytes(), events));
    }
  }

  /** The floor: the same bytes in and out, through Kafka Streams with the same settings and no processing. */
  static Topology passthroughTopology() {
    Topology t = new Topology();
    t.addSource("in", new ByteArrayDeserializer(), new ByteArrayDeserializer(), PASSTHROUGH_IN);
    t.addSink("out", PASSTHROUGH_OUT, new ByteArraySerializer(), new ByteArraySerializer(), "in");
    return t;
  }

  /**
   * Publishes {@code payloads} to {@code input} and reads {@code output} from its current end until as many
   * records arrived; the records and bytes are the growth of every topic {@code written} selects.
   */
  private Phase run(Admin admin, Settings settings, String input, String output, List<byte[]> payloads,
      Predicate<String> written) throws Exception {
    Set<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream().filter(written)
        .collect(Collectors.toSet());
    Map<TopicPartition, Long> offsetsBefore = endOffsets(admin, topics);
    Map<TopicPartition, Long> sizesBefore = logSizes(admin, topics);
    Properties consumerProps = KafkaClientConfig.consumer(settings, "bench-count-" + System.nanoTime(), "bench-count");
    int seen = 0;
    long start;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(consumerProps, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> outputs = offsetsBefore.keySet().stream().filter(tp -> tp.topic().equals(output)).toList();
      consumer.assign(outputs);
      outputs.forEach(tp -> consumer.seek(tp, offsetsBefore.get(tp)));
      start = System.nanoTime();
      Properties producerProps = KafkaClientConfig.producer(settings, "bench-publish");
      producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      try (KafkaProducer<String, byte[]> producer =
          new KafkaProducer<>(producerProps, new StringSerializer(), new ByteArraySerializer())) {
        int i = 0;
        for (byte[] payload : payloads) {
          producer.send(new ProducerRecord<>(input, "event-" + i++, payload));
        }
      }
      long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
      while (seen < payloads.size() && System.nanoTime() < deadline) {
        seen += consumer.poll(Duration.ofMillis(100)).count();
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    topics = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream().filter(written).collect(Collectors.toSet());
    return new Phase(seen, seconds, growth(offsetsBefore, endOffsets(admin, topics)),
        growth(sizesBefore, logSizes(admin, topics)));
  }

  /** A benchmark whose events become dead letters measures the wrong thing: say so, by reason. */
  private static void reportDeadLetters(Settings settings, AvroSerdes serdes) {
    Properties props = KafkaClientConfig.consumer(settings, "bench-dlq-" + System.nanoTime(), "bench-dlq");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, Integer> reasons = new TreeMap<>();
    try (KafkaConsumer<String, DeadLetter> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), serdes.deadLetter().deserializer())) {
      consumer.subscribe(List.of(Topics.DLQ));
      for (int emptyPolls = 0; emptyPolls < 10; ) {
        var records = consumer.poll(Duration.ofMillis(200));
        emptyPolls = records.isEmpty() ? emptyPolls + 1 : 0;
        records.forEach(r -> reasons.merge(r.value().getStage() + "/" + r.value().getReasonCode(), 1, Integer::sum));
      }
    }
    if (!reasons.isEmpty()) {
      System.out.println("dead letters (warm-up and timed run), by stage/reason: " + reasons);
    }
  }

  private static Map<String, Long> growth(Map<TopicPartition, Long> before, Map<TopicPartition, Long> after) {
    Map<String, Long> byTopic = new TreeMap<>();
    after.forEach((tp, n) -> byTopic.merge(tp.topic(), n - before.getOrDefault(tp, 0L), Long::sum));
    byTopic.values().removeIf(n -> n == 0);
    return byTopic;
  }

  private static Map<TopicPartition, Long> endOffsets(Admin admin, Collection<String> topics) throws Exception {
    Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetSpec> request = described.values().stream()
        .flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
        .collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest()));
    return admin.listOffsets(request).all().get(30, TimeUnit.SECONDS).entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
  }

  /** Bytes on disk per partition, summed over every broker's replica. */
  private static Map<TopicPartition, Long> logSizes(Admin admin, Set<String> topics) throws Exception {
    List<Integer> brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).stream().map(Node::id).toList();
    Map<TopicPartition, Long> sizes = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
    admin.describeLogDirs(brokers).allDescriptions().get(30, TimeUnit.SECONDS).values().forEach(dirs ->
        dirs.values().forEach(dir -> dir.replicaInfos().forEach((tp, replica) -> {
          if (topics.contains(tp.topic())) {
            sizes.merge(tp, replica.size(), Long::sum);
          }
        })));
    return sizes;
  }

  private static void awaitRunning(KafkaStreams streams) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("pass-through topology did not reach RUNNING: " + streams.state());
      }
      Thread.sleep(50);
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
}

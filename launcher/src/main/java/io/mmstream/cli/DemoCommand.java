package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.Settings;
import io.mmstream.schema.ImageEvent;
import io.mmstream.security.AppAcls;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream demo}: the whole pipeline in one process on the embedded default — a real
 * KRaft broker inside the JVM (or {@code --bootstrap-servers}), the stream app, one worker per model
 * kind, the sample images published, and one readable line per enriched record, moderation decision
 * and dead letter as they arrive.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run broker, stream app and workers in one process on the sample images and print the results.")
public final class DemoCommand implements Callable<Integer> {

  @Option(names = {"-b", "--bootstrap-servers"}, description = "Use this Kafka cluster instead of the embedded broker.")
  String bootstrapServers;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Properties file with kafka.* connection and security settings for --bootstrap-servers (MMSTREAM_* variables override it).")
  Path configFile;

  @Option(names = "--images", paramLabel = "DIR", description = "Folder of images to publish (default: samples/).")
  Path images;

  @Option(names = "--models", paramLabel = "DIR",
      description = "Folder with HF model directories clip/, caption/ and vqa/ (default: the models that ship in the repository).")
  Path models;

  @Option(names = "--exit-after", defaultValue = "0", description = "Exit after this many enriched records (0: run until Ctrl-C).")
  int exitAfter;

  @Option(names = "--metrics-port", defaultValue = "9400", description = "Port of the tag worker's /metrics and /health (default: ${DEFAULT-VALUE}).")
  int metricsPort;

  @Option(names = "--question", description = "VQA questions asked about every image (repeatable).")
  List<String> questions = new ArrayList<>(List.of("how many shapes are there?", "is there a star?"));

  @Option(names = "--tenant", defaultValue = "demo", description = "Tenant of the published events (default: ${DEFAULT-VALUE}).")
  String tenant;

  @Option(names = "--json", description = "Print records as JSON objects instead of readable lines.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    Path home = ProjectHome.path();
    Path imageDir = images != null ? images : home.resolve("samples");
    List<Path> files = imageFiles(imageDir);
    DemoModels demoModels = DemoModels.resolve(models, home);
    System.out.println("mmstream demo: " + demoModels.describe());
    Settings settings = DemoConfig.localRun(Settings.load(configFile), home, DemoConfig.DEMO_RUN_NAME)
        .with(StreamSettings.HTTP_PORT.key(), -1)
        .with(StreamSettings.JOIN_DEADLINE_MS.key(), 120_000);
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch done = new CountDownLatch(1);
    CountDownLatch closed = new CountDownLatch(1);
    // Ctrl-C: stop printing, then hold the JVM until the workers, the stream app and the broker have closed.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stop.set(true);
      done.countDown();
      try {
        closed.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "mmstream-demo-shutdown"));
    try (LocalKafka kafka = LocalKafka.startOrConnect(settings, bootstrapServers)) {
      System.out.println("mmstream demo: Kafka at " + kafka.bootstrapServers()
          + (kafka.embedded() ? " (embedded broker; try: bin/mmstream tail -b " + kafka.bootstrapServers() + " --topic enriched)" : ""));
      try (StreamAppCommand.RunningStreamApp stream = StreamAppCommand.RunningStreamApp.start(kafka.settings());
          DemoWorkers workers = DemoWorkers.start(kafka.settings(), demoModels, metricsPort)) {
        if (!stream.app().awaitRunning(Duration.ofSeconds(90))) {
          throw new IllegalStateException("stream app did not reach RUNNING");
        }
        System.out.println("mmstream demo: stream app and workers running; /metrics on http://localhost:" + metricsPort + "/metrics");
        AtomicInteger enriched = new AtomicInteger();
        Thread printer = new Thread(() -> printOutputs(kafka.settings(), stop, enriched, done), "mmstream-demo-printer");
        printer.start();
        publish(kafka.settings(), files);
        done.await();
        stop.set(true);
        printer.join();
        System.out.println("mmstream demo: " + enriched.get() + " enriched records; shutting down");
      }
    } finally {
      closed.countDown();
    }
    return 0;
  }

  private static List<Path> imageFiles(Path dir) throws IOException {
    try (Stream<Path> list = Files.list(dir)) {
      List<Path> files = list.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT)
          .matches(".*\\.(png|jpe?g|gif|bmp|webp)")).sorted().toList();
      if (files.isEmpty()) {
        throw new IllegalArgumentException("no images in " + dir);
      }
      return files;
    }
  }

  private void publish(Settings settings, List<Path> files) throws Exception {
    ImageEvents.Requested tasks = ImageEvents.requested(List.of("tag", "caption", "vqa"), "demo", List.of(),
        questions, List.of());
    try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(KafkaClientConfig.producer(settings,
        "demo-publish"), new StringSerializer(), AvroSerdes.standard().imageEvent().serializer())) {
      for (Path file : files) {
        ImageEvent event = ImageEvents.forSource(file.toString(), tenant, tasks);
        producer.send(new ProducerRecord<>(Topics.IMAGES, event.getEventId(), event)).get();
      }
    }
    System.out.println("mmstream demo: published " + files.size() + " images from " + files.get(0).getParent());
  }

  private void printOutputs(Settings settings, AtomicBoolean stop, AtomicInteger enriched, CountDownLatch done) {
    Properties props = KafkaClientConfig.consumer(settings, AppAcls.TAIL_GROUP_PREFIX + "demo-" + System.nanoTime(),
        "demo-printer");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    int moderated = 0;
    long finishBy = Long.MAX_VALUE;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(Topics.ENRICHED, Topics.MODERATION, Topics.DLQ));
      while (!stop.get() && System.currentTimeMillis() < finishBy) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          AvroSerde<? extends SpecificRecord> serde = TailCommand.serdeFor(r.topic(), AvroSerdes.standard());
          SpecificRecord value = serde.deserializer().deserialize(r.topic(), r.value());
          System.out.println(json ? RecordText.json(value) : RecordText.line(value));
          if (r.topic().equals(Topics.ENRICHED)) {
            enriched.incrementAndGet();
          } else if (r.topic().equals(Topics.MODERATION)) {
            moderated++;
          }
        }
        if (exitAfter > 0 && enriched.get() >= exitAfter) {
          if (moderated >= enriched.get()) {
            break;
          }
          // Each decision is committed with its enriched record; give the last ones a moment to arrive.
          finishBy = Math.min(finishBy, System.currentTimeMillis() + 3_000);
        }
      }
    }
    done.countDown();
  }
}

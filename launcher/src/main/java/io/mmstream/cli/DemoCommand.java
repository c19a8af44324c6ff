package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.Settings;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ImageEvent;
import io.mmstream.security.AppAcls;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.ModelSettings;
import io.mmstream.worker.WorkerMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import io.mmstream.topic.TopicAdmin;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream demo}: the whole pipeline in one process on the embedded default — a real
 * KRaft broker inside the JVM (or {@code --bootstrap-servers}), the stream app, one worker per model
 * kind, the sample images published, and one readable line per enriched record, moderation decision
 * and dead letter as they arrive; beside them, a conversation over Kafka about a sample image (a chat worker
 * answers, the stream app keeps the history).
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
      description = "Folder with HF model directories clip/, caption/, vqa/ and chat/ (default: the models that ship in the"
          + " repository).")
  Path models;

  @Option(names = "--exit-after", defaultValue = "0", description = "Exit after this many enriched records (0: run until Ctrl-C).")
  int exitAfter;

  @Option(names = "--metrics-port", defaultValue = "9400", description = "First of four ports on 127.0.0.1 where the"
      + " clip, caption, vqa and chat workers serve /metrics and /health, one each (default: ${DEFAULT-VALUE}; 0: any free"
      + " ports; -1: none).")
  int metricsPort;

  @Option(names = "--publish-samples", description = "Publish the images to an external cluster too (the embedded"
      + " broker always gets them; an external one only when asked, so a restart does not publish them again).")
  boolean publishSamples;

  @Option(names = "--question", description = "VQA questions asked about every image (repeatable).")
  List<String> questions = new ArrayList<>(List.of("how many shapes are there?", "is there a star?"));

  @Option(names = "--chat-question", description = "The demo conversation's messages, in order (repeatable; default: what"
      + " shapes are there?, where is the star?, what colour is it? — the last needs the history to know what 'it' is).")
  List<String> chatQuestions = new ArrayList<>(List.of("what shapes are there?", "where is the star?", "what colour is it?"));

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
    boolean external = bootstrapServers != null;
    Settings base = Settings.load(configFile);
    Settings settings = (external ? DemoConfig.externalRun(base, home) : DemoConfig.localRun(base, home, DemoConfig.DEMO_RUN_NAME))
        .with(StreamSettings.HTTP_PORT.key(), -1)
        .with(StreamSettings.JOIN_DEADLINE_MS.key(), 120_000)
        .with(ModelSettings.CHAT_MAX_NEW_TOKENS.key(), CHAT_MAX_NEW_TOKENS);
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch done = new CountDownLatch(1);
    CountDownLatch closed = new CountDownLatch(1);
    CountDownLatch conversed = new CountDownLatch(1);
    // Ctrl-C: stop printing, then hold the JVM until the workers, the stream app and the broker have closed.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stop.set(true);
      done.countDown();
      conversed.countDown();
      try {
        closed.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "mmstream-demo-shutdown"));
    try (LocalKafka kafka = LocalKafka.startOrConnect(settings, bootstrapServers)) {
      System.out.println("mmstream demo: Kafka at " + kafka.bootstrapServers()
          + (kafka.embedded() ? " (embedded broker; try: bin/mmstream tail -b " + kafka.bootstrapServers() + " --topic enriched)" : ""));
      if (external) {
        System.out.println("mmstream demo: external Kafka: stable ids (application " + DemoConfig.STABLE_APPLICATION_ID
            + ", workers demo-clip, demo-caption, demo-vqa, demo-chat): a restart continues where the last run stopped, exactly once;"
            + " printing only records that arrive from now on");
      }
      // The printer is positioned before the stream app starts: on an external cluster it prints from the
      // current end, and a restarted stream app may emit records for earlier events at once.
      try (Admin admin = Admin.create(KafkaClientConfig.admin(kafka.settings(), "demo-topics"))) {
        TopicAdmin.ensureTopics(admin, kafka.settings());
      }
      KafkaConsumer<byte[], byte[]> outputs = outputConsumer(kafka.settings(), external);
      try (StreamAppCommand.RunningStreamApp stream = StreamAppCommand.RunningStreamApp.start(kafka.settings());
          DemoWorkers workers = DemoWorkers.start(kafka.settings(), demoModels, metricsPort);
          WorkerMain chatWorker = DemoWorkers.start(kafka.settings(), ModelKind.CHAT, demoModels.chat(),
              metricsPort <= 0 ? metricsPort : metricsPort + DemoWorkers.KINDS.size())) {
        if (!stream.app().awaitRunning(Duration.ofSeconds(90))) {
          throw new IllegalStateException("stream app did not reach RUNNING");
        }
        System.out.println("mmstream demo: stream app and workers running");
        for (int i = 0; i < DemoWorkers.KINDS.size(); i++) {
          int port = workers.workers().get(i).httpPort();
          if (port >= 0) {
            System.out.println("mmstream demo: " + DemoWorkers.KINDS.get(i).id() + " worker metrics on http://127.0.0.1:"
                + port + "/metrics (health: /health/live, /health/ready)");
          }
        }
        if (chatWorker.httpPort() >= 0) {
          System.out.println("mmstream demo: chat worker metrics on http://127.0.0.1:" + chatWorker.httpPort() + "/metrics");
        }
        AtomicInteger enriched = new AtomicInteger();
        Thread printer = new Thread(() -> printOutputs(outputs, stop, enriched, done), "mmstream-demo-printer");
        printer.start();
        Path chatImage = chatImage(imageDir, files);
        Thread conversation = new Thread(() -> converse(kafka.settings(), chatImage, conversed), "mmstream-demo-chat");
        if (!external || publishSamples) {
          conversation.start();
          publish(kafka.settings(), files);
        } else {
          conversed.countDown();
          System.out.println("mmstream demo: not publishing the samples nor a conversation to an external cluster"
              + " (--publish-samples does); publish with: bin/mmstream publish -b " + kafka.bootstrapServers()
              + " --image FILE, chat with: bin/mmstream chat -b " + kafka.bootstrapServers() + " --conversation ID"
              + " --image FILE");
        }
        done.await();
        if (exitAfter > 0) {
          conversed.await();
        }
        stop.set(true);
        printer.join();
        conversation.interrupt();
        conversation.join();
        System.out.println("mmstream demo: " + enriched.get() + " enriched records; shutting down");
      }
    } finally {
      closed.countDown();
    }
    return 0;
  }

  /** Enough for the demo chat model's answers ("a red circle and a blue star"), short for the random-weight fixture. */
  private static final int CHAT_MAX_NEW_TOKENS = 24;

  /** The image the demo conversation is about: the first whose ground truth (samples/ground-truth.tsv) has a star. */
  private static Path chatImage(Path dir, List<Path> files) throws IOException {
    Path truth = dir.resolve("ground-truth.tsv");
    if (Files.isRegularFile(truth)) {
      for (String line : Files.readAllLines(truth)) {
        String[] cols = line.split("\t");
        if (cols.length > 1 && cols[1].contains("star") && Files.isRegularFile(dir.resolve(cols[0]))) {
          return dir.resolve(cols[0]);
        }
      }
    }
    return files.get(0);
  }

  /** Holds the demo conversation over Kafka: each question waits for the previous reply, as a user would. */
  private void converse(Settings settings, Path image, CountDownLatch conversed) {
    String conversation = "demo-" + image.getFileName().toString().replaceFirst("\\.[^.]*$", "") + "-"
        + UUID.randomUUID().toString().substring(0, 8);
    try (ConversationClient client = ConversationClient.open(settings, tenant, conversation)) {
      System.out.println("mmstream demo: conversation " + tenant + "/" + conversation + " about " + image.getFileName()
          + " (try: bin/mmstream chat -b BOOTSTRAP --conversation ID --image FILE)");
      ImageEvents.ImageSource source = ImageEvents.imageSource(image.toString());
      for (int i = 0; i < chatQuestions.size(); i++) {
        String question = chatQuestions.get(i);
        ChatReply reply = client.ask(question, i == 0 ? source : null, Duration.ofMinutes(3));
        System.out.println(json ? RecordText.json(reply) : "CHAT      " + tenant + "/" + conversation + " #"
            + reply.getTurn() + "  you: " + question + "  model: " + RecordText.chatReplyText(reply));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      System.out.println("mmstream demo: the conversation stopped: " + e.getMessage());
    } finally {
      conversed.countDown();
    }
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

  /**
   * The printer's consumer over the output topics: from the beginning on the embedded broker (a fresh
   * one), from the current end on an external cluster (earlier runs' records are not this run's),
   * positioned before anything is published.
   */
  private static KafkaConsumer<byte[], byte[]> outputConsumer(Settings settings, boolean fromEnd) {
    Properties props = KafkaClientConfig.consumer(settings, AppAcls.TAIL_GROUP_PREFIX + "demo-" + System.nanoTime(),
        "demo-printer");
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> partitions = new ArrayList<>();
    for (String topic : List.of(Topics.ENRICHED, Topics.MODERATION, Topics.DLQ)) {
      consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
    }
    consumer.assign(partitions);
    if (fromEnd) {
      consumer.seekToEnd(partitions);
    } else {
      consumer.seekToBeginning(partitions);
    }
    partitions.forEach(consumer::position); // resolves the lazy seeks now, before the first image is published
    return consumer;
  }

  private void printOutputs(KafkaConsumer<byte[], byte[]> outputs, AtomicBoolean stop, AtomicInteger enriched,
      CountDownLatch done) {
    int moderated = 0;
    long finishBy = Long.MAX_VALUE;
    try (KafkaConsumer<byte[], byte[]> consumer = outputs) {
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

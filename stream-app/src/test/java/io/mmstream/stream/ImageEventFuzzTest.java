package io.mmstream.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.LabelSets;
import io.mmstream.config.Settings;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.RequestedTasks;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskType;
import io.mmstream.schema.VqaTask;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import javax.imageio.ImageIO;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;
import net.jqwik.api.statistics.Statistics;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * Fuzzes the stream application's input: generated ImageEvents (ids, tenants, sources, content types,
 * tasks, questions, metadata, inline bytes that are valid, truncated, bit-flipped, random or
 * decompression bombs), their encodings with damaged bodies, and random bytes go through the whole
 * topology. Every record must yield exactly one outcome, task requests or one dead letter with a
 * known reason, within a bounded time, and nothing may escape the topology. The seed and the number
 * of tries are fixed, so every run checks the same inputs.
 */
class ImageEventFuzzTest {

  private static final long PER_RECORD_TIMEOUT_SECONDS = 20;
  private static final Set<String> STAGES_FOR_IMAGES = Set.of("deserialize", "validate", "join");

  private final AvroSerdes serdes = AvroSerdes.standard();
  private final AtomicLong offsets = new AtomicLong();
  private Path stateDir;
  private TopologyTestDriver driver;
  private TestInputTopic<byte[], byte[]> images;
  private List<TestOutputTopic<String, TaskRequest>> tasks;
  private TestOutputTopic<String, DeadLetter> dlq;
  private ExecutorService runner;

  @BeforeProperty
  void start() throws IOException {
    stateDir = Files.createTempDirectory("mmstream-fuzz");
    Settings settings = Settings.of(Map.of(
        "mmstream.tenants.allowed", "acme,globex",
        "mmstream.images.max-inline-bytes", "65536",
        "mmstream.images.max-pixels", "1000000",
        "mmstream.validate.max-event-bytes", "100000",
        "mmstream.repost.enabled", "false"));
    LabelSets labelSets = LabelSets.parse("""
        {"labelSets": {"moderation": {"labels": ["a weapon", "a cat"]}},
         "tenants": {"acme": {"labelSets": {"products": {"labels": ["shoe", "bag"]}}}}}
        """);
    var topology = new EnrichmentTopology(settings, labelSets, ModerationPolicy.none(), serdes).build();
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "fuzz");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    driver = new TopologyTestDriver(topology, props, Instant.ofEpochMilli(1_000_000));
    ByteArraySerializer bytes = new ByteArraySerializer();
    images = driver.createInputTopic(Topics.IMAGES, bytes, bytes);
    StringDeserializer keys = new StringDeserializer();
    tasks = new ArrayList<>();
    for (TaskType t : Topics.ROUTED_TASKS) {
      tasks.add(driver.createOutputTopic(Topics.taskTopic(t), keys, serdes.taskRequest()));
    }
    dlq = driver.createOutputTopic(Topics.DLQ, keys, serdes.deadLetter());
    runner = Executors.newSingleThreadExecutor(r -> {
      Thread thread = new Thread(r, "fuzz-topology");
      thread.setDaemon(true);
      return thread;
    });
  }

  @AfterProperty
  void stop() throws IOException {
    runner.shutdownNow();
    driver.close();
    try (var files = Files.walk(stateDir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Property(tries = 400, seed = "20261125", afterFailure = AfterFailureMode.RANDOM_SEED)
  void everyRecordYieldsExactlyOneOutcome(@ForAll("records") byte[] value) throws Exception {
    long offset = offsets.getAndIncrement();
    Future<?> piped = runner.submit(() -> images.pipeInput("k".getBytes(), value));
    try {
      piped.get(PER_RECORD_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      piped.cancel(true);
      throw new AssertionError("record " + offset + " was not processed within " + PER_RECORD_TIMEOUT_SECONDS + " s");
    }

    List<DeadLetter> dead = dlq.readValuesToList();
    List<TaskRequest> routed = new ArrayList<>();
    tasks.forEach(topic -> routed.addAll(topic.readValuesToList()));
    Statistics.label("outcome").collect(dead.isEmpty() ? "routed" : dead.get(0).getStage());
    Statistics.label("reason").collect(dead.isEmpty() ? "routed" : dead.get(0).getReasonCode());
    // the generators must reach every stage, or the property proves little
    Statistics.label("outcome").coverage(c -> {
      c.check("routed").percentage(p -> p >= 10);
      c.check("validate").percentage(p -> p >= 20);
      c.check("deserialize").percentage(p -> p >= 5);
    });
    Statistics.label("reason").coverage(c -> {
      for (String imageReason : List.of("CORRUPT_IMAGE", "NOT_AN_IMAGE", "DIMENSIONS_TOO_LARGE", "TOO_LARGE",
          "MALFORMED", "EVENT_TOO_LARGE", "FORBIDDEN_ADDRESS", "QUESTION_TOO_LONG", "METADATA_TOO_LARGE")) {
        c.check(imageReason).count(n -> n > 0);
      }
    });
    if (dead.isEmpty()) {
      assertThat(routed).as("a record that is not dead-lettered is routed").isNotEmpty().hasSizeLessThanOrEqualTo(3);
      assertThat(routed).extracting(TaskRequest::getEventId).containsOnly(routed.get(0).getEventId());
      assertThat(routed).extracting(TaskRequest::getTask).doesNotHaveDuplicates();
    } else {
      assertThat(dead).as("one dead letter per record").hasSize(1);
      assertThat(routed).as("a dead-lettered record routes nothing").isEmpty();
      DeadLetter letter = dead.get(0);
      assertThat(letter.getStage()).isIn(STAGES_FOR_IMAGES);
      assertThat(letter.getReasonCode()).as("a validator failure is a bug: %s", letter.getMessage())
          .isNotEqualTo(ImageIngestProcessor.VALIDATION_ERROR);
      if (letter.getOriginalTopic().equals(Topics.IMAGES)) {
        assertThat(letter.getOriginalOffset()).as("the dead letter names this record").isEqualTo(offset);
      } else {
        assertThat(letter.getReasonCode()).as("only the join's duplicate check sees the accepted copy")
            .isEqualTo("DUPLICATE_EVENT");
      }
    }
  }

  @Provide
  Arbitrary<byte[]> records() {
    Arbitrary<byte[]> encoded = events().map(e -> serdes.imageEvent().encode(e));
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(8, encoded),
        net.jqwik.api.Tuple.of(2, Combinators.combine(encoded, Arbitraries.integers().between(0, 1 << 20),
            Arbitraries.integers().between(0, 255)).as(ImageEventFuzzTest::damage)),
        net.jqwik.api.Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(300)));
  }

  /** Flips one byte or cuts the record short, past its 10-byte single-object header half of the time. */
  private static byte[] damage(byte[] record, int position, int mask) {
    int at = position % record.length;
    if ((position & 1) == 0) {
      return Arrays.copyOf(record, at);
    }
    byte[] flipped = record.clone();
    flipped[at] ^= (byte) (mask == 0 ? 1 : mask);
    return flipped;
  }

  /**
   * A plausible event (every field valid) with, most of the time, one field replaced by a hostile
   * value: a hostile value early in the checks would otherwise hide every later one.
   */
  Arbitrary<ImageEvent> events() {
    Arbitrary<ImageEvent.Builder> plausible = Combinators.combine(validIds(), validIds(), Arbitraries.of("acme", "globex"),
        Arbitraries.of(VALID_IMAGES), validTasks(), Arbitraries.maps(text(10), text(20)).ofMaxSize(5),
        Arbitraries.longs().between(0, 4_000_000_000_000L)).as((eventId, imageId, tenant, image, tasks, metadata, time) ->
            ImageEvent.newBuilder().setEventId(eventId).setImageId(imageId).setTenant(tenant)
                .setSource(new InlineImage(ByteBuffer.wrap(image))).setContentType(null).setTasks(tasks)
                .setMetadata(metadata).setEventTime(Instant.ofEpochMilli(time)));
    Arbitrary<UnaryOperator<ImageEvent.Builder>> hostile = Arbitraries.oneOf(
        hostileIds().map(id -> b -> b.setEventId(id)),
        hostileIds().map(id -> b -> b.setImageId(id)),
        hostileTenants().map(t -> b -> b.setTenant(t)),
        hostileImages().map(image -> b -> b.setSource(new InlineImage(ByteBuffer.wrap(image)))),
        hostileImages().map(image -> b -> b.setSource(new InlineImage(ByteBuffer.wrap(image)))),
        uris().map(uri -> b -> b.setSource(uri)),
        contentTypes().map(type -> b -> b.setContentType(type)),
        hostileTasks().map(tasks -> b -> b.setTasks(tasks)),
        hostileMetadata().map(metadata -> b -> b.setMetadata(metadata)));
    Arbitrary<UnaryOperator<ImageEvent.Builder>> change = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(1, Arbitraries.just(UnaryOperator.identity())), net.jqwik.api.Tuple.of(3, hostile));
    return Combinators.combine(plausible, change).as((b, c) -> c.apply(b).build());
  }

  private static Arbitrary<String> text(int maxLength) {
    return Arbitraries.strings().all().ofMaxLength(maxLength);
  }

  /** Distinct ids: repeated ones would mostly test the duplicate check (EnrichmentTopologyTest has that). */
  private static Arbitrary<String> validIds() {
    return Arbitraries.randomValue(random -> "e-" + Long.toHexString(random.nextLong()));
  }

  private static Arbitrary<String> hostileIds() {
    return Arbitraries.oneOf(text(20), Arbitraries.just(" "), Arbitraries.strings().withChars('x').ofLength(257));
  }

  private static Arbitrary<String> hostileTenants() {
    return Arbitraries.oneOf(Arbitraries.of("initech", "Acme", "../acme", "acme/evil", ""), text(70));
  }

  /** Literal addresses only: a generated host name would make the test wait on DNS. */
  private static Arbitrary<Object> uris() {
    return Combinators.combine(Arbitraries.of("https://93.184.215.14/", "http://10.0.0.1/",
        "http://127.0.0.1:1/", "http://169.254.169.254/latest/", "http://[::1]/", "http://[fd00:ec2::254]/",
        "file:///etc/passwd", "ftp://93.184.215.14/", "gopher://x/", "http://a b/", "", "not a uri at all"),
        text(30)).as((base, path) -> new ImageUri(base + path));
  }

  private static Arbitrary<String> contentTypes() {
    return Arbitraries.oneOf(Arbitraries.of("image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp",
        "application/octet-stream", "text/html", "image/svg+xml", "image/png; charset=binary"), text(30));
  }

  private static Arbitrary<String> questions() {
    return Arbitraries.strings().alpha().withChars(' ', '?').ofMinLength(1).ofMaxLength(60);
  }

  private static Arbitrary<RequestedTasks> validTasks() {
    Arbitrary<TagTask> tag = Arbitraries.oneOf(Arbitraries.just(TagTask.newBuilder().setLabelSet("moderation").build()),
        Arbitraries.of("cat", "dog", "a weapon").list().ofMinSize(1).ofMaxSize(3)
            .map(labels -> TagTask.newBuilder().setLabels(labels).build()));
    Arbitrary<CaptionTask> caption = Arbitraries.oneOf(Arbitraries.just((String) null), questions()).map(CaptionTask::new);
    Arbitrary<VqaTask> vqa = questions().list().ofMinSize(1).ofMaxSize(3)
        .map(q -> VqaTask.newBuilder().setQuestions(q).build());
    return Combinators.combine(tag, caption.injectNull(0.5), vqa.injectNull(0.5)).as(RequestedTasks::new);
  }

  private static Arbitrary<RequestedTasks> hostileTasks() {
    Arbitrary<String> questions = Arbitraries.oneOf(text(40), Arbitraries.strings().withChars("why ").ofLength(600));
    Arbitrary<TagTask> tag = Combinators.combine(Arbitraries.of("moderation", "products", "nope").injectNull(0.5),
        text(30).list().ofMaxSize(4), text(20).list().ofMaxSize(40), Arbitraries.integers().between(-1, 50))
        .as((set, labels, templates, topK) -> TagTask.newBuilder().setLabelSet(set).setLabels(labels)
            .setTemplates(templates).setTopK(topK).build());
    Arbitrary<CaptionTask> caption = Arbitraries.oneOf(Arbitraries.just((String) null), questions)
        .map(CaptionTask::new);
    Arbitrary<VqaTask> vqa = Combinators.combine(questions.list().ofMaxSize(10), questions.list().ofMaxSize(3))
        .as((q, c) -> VqaTask.newBuilder().setQuestions(q).setCandidates(c).build());
    Arbitrary<RequestedTasks> anything = Combinators.combine(tag.injectNull(0.4), caption.injectNull(0.5),
        vqa.injectNull(0.5)).as(RequestedTasks::new);
    Arbitrary<RequestedTasks> oneTooLong = Arbitraries.oneOf(
        Arbitraries.strings().withChars("why ").ofMinLength(513).ofMaxLength(2000)
            .map(q -> new RequestedTasks(null, null, VqaTask.newBuilder().setQuestions(List.of("what?", q)).build())),
        Arbitraries.strings().withChars("describe ").ofMinLength(513).ofMaxLength(2000)
            .map(p -> new RequestedTasks(null, new CaptionTask(p), null)),
        Arbitraries.integers().between(9, 100).map(n -> new RequestedTasks(null, null,
            VqaTask.newBuilder().setQuestions(java.util.Collections.nCopies(n, "why?")).build())),
        Arbitraries.integers().between(33, 100).map(n -> new RequestedTasks(TagTask.newBuilder().setLabels(
            List.of("cat")).setTemplates(java.util.Collections.nCopies(n, "a {}")).build(), null, null)));
    return Arbitraries.oneOf(anything, oneTooLong);
  }

  private static Arbitrary<Map<String, String>> hostileMetadata() {
    Arbitrary<String> keys = Arbitraries.oneOf(text(10), Arbitraries.strings().withChars('k').ofLength(200));
    Arbitrary<String> values = Arbitraries.oneOf(text(20), Arbitraries.strings().withChars("{\"a\":[").ofLength(6000));
    return Arbitraries.maps(keys, values).ofMaxSize(70);
  }

  /** Valid small images of every format, and the same truncated, bit-flipped, replaced by noise, or bombs. */
  static Arbitrary<byte[]> hostileImages() {
    Arbitrary<byte[]> valid = Arbitraries.of(VALID_IMAGES);
    Arbitrary<byte[]> truncated = Combinators.combine(valid, Arbitraries.doubles().between(0, 1))
        .as((b, f) -> Arrays.copyOf(b, (int) (b.length * f)));
    Arbitrary<byte[]> flipped = Combinators.combine(valid, Arbitraries.integers().greaterOrEqual(0),
        Arbitraries.integers().between(1, 255)).as((b, at, mask) -> {
          byte[] c = b.clone();
          c[at % c.length] ^= (byte) (int) mask;
          return c;
        });
    Arbitrary<byte[]> bombs = Combinators.combine(Arbitraries.integers().between(1, 1 << 20),
        Arbitraries.integers().between(1, 1 << 20)).as(ImageEventFuzzTest::pngClaiming);
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, valid), net.jqwik.api.Tuple.of(2, truncated),
        net.jqwik.api.Tuple.of(2, flipped), net.jqwik.api.Tuple.of(1, bombs),
        net.jqwik.api.Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(200)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(new byte[70_000])));
  }

  private static final List<byte[]> VALID_IMAGES = List.of(encode("png"), encode("jpeg"), encode("gif"),
      encode("bmp"),
      // 24x16 lossless WebP made by libwebp's cwebp (no WebP encoder in the JDK)
      Base64.getDecoder().decode("UklGRjgAAABXRUJQVlA4TCwAAAAvF8ADAA8Q87//8x8OFLdtGzmTZTSPnG8PA/plhoj+J/tAYcVK61ixQsGwAA=="));

  private static byte[] encode(String format) {
    BufferedImage image = new BufferedImage(24, 16, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(Color.ORANGE);
    g.fillOval(4, 2, 16, 12);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, format, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** A valid 24x16 PNG with its IHDR size rewritten: a decompression bomb when the claim is large. */
  private static byte[] pngClaiming(int width, int height) {
    byte[] png = VALID_IMAGES.get(0).clone();
    ByteBuffer.wrap(png, 16, 8).putInt(width).putInt(height);
    return png;
  }
}

package io.mmstream.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.LabelSets;
import io.mmstream.config.Settings;
import io.mmstream.schema.Answer;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.LabelScore;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.ModerationAction;
import io.mmstream.schema.ModerationDecision;
import io.mmstream.schema.RequestedTasks;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskFailure;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import io.mmstream.schema.Timings;
import io.mmstream.schema.VqaTask;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.SchemaStore;
import io.mmstream.topic.Topics;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EnrichmentTopologyTest {

  static final String LABEL_SETS = """
      {"labelSets": {"moderation": {"labels": ["a weapon", "a cat"]}},
       "tenants": {"acme": {"labelSets": {"products": {"labels": ["shoe", "bag"], "templates": ["a photo of a {}, a product."]}}}}}
      """;
  static final String POLICY = """
      {"default": {"version": "p-1", "categories": [
          {"name": "weapons", "labels": ["a weapon"], "questions": ["Is there a weapon?"], "review": 0.5, "block": 0.8}]},
       "tenants": {"strict": {"version": "s-1", "noSignalAction": "REVIEW", "categories": [
          {"name": "weapons", "labels": ["a weapon"], "review": 0.2, "block": 0.4}]}}}
      """;
  static final byte[] PNG = png(32, 24, 0xFF0000);
  static final long DEADLINE_MS = 10_000;

  @TempDir Path stateDir;
  private final AvroSerdes serdes = AvroSerdes.standard();
  private TopologyTestDriver driver;
  private TestInputTopic<byte[], byte[]> images;
  private TestInputTopic<byte[], byte[]> results;
  private Map<TaskType, TestOutputTopic<String, TaskRequest>> tasks;
  private TestOutputTopic<String, EnrichedImage> enriched;
  private TestOutputTopic<String, ModerationDecision> moderation;
  private TestOutputTopic<String, DeadLetter> dlq;

  private void start(Map<String, String> overrides) {
    Map<String, String> s = new HashMap<>(Map.of(
        "mmstream.join.deadline-ms", Long.toString(DEADLINE_MS),
        "mmstream.tenants.allowed", "acme,globex,strict",
        "mmstream.validate.max-questions", "3",
        "mmstream.validate.max-metadata-bytes", "100",
        "mmstream.images.max-inline-bytes", "100000",
        "mmstream.images.max-dimension", "4000"));
    s.putAll(overrides);
    Settings settings = Settings.of(s);
    var topology = new EnrichmentTopology(settings, LabelSets.parse(LABEL_SETS), ModerationPolicy.parse(POLICY), serdes)
        .build();
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "enrichment-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    driver = new TopologyTestDriver(topology, props, Instant.ofEpochMilli(1_000_000));
    ByteArraySerializer bytes = new ByteArraySerializer();
    images = driver.createInputTopic(Topics.IMAGES, bytes, bytes);
    results = driver.createInputTopic(Topics.RESULTS, bytes, bytes);
    StringDeserializer keys = new StringDeserializer();
    tasks = new HashMap<>();
    for (TaskType t : Topics.ROUTED_TASKS) {
      tasks.put(t, driver.createOutputTopic(Topics.taskTopic(t), keys, serdes.taskRequest()));
    }
    enriched = driver.createOutputTopic(Topics.ENRICHED, keys, serdes.enrichedImage());
    moderation = driver.createOutputTopic(Topics.MODERATION, keys, serdes.moderationDecision());
    dlq = driver.createOutputTopic(Topics.DLQ, keys, serdes.deadLetter());
  }

  @AfterEach
  void close() {
    if (driver != null) {
      driver.close();
    }
  }

  static byte[] png(int w, int h, int rgb) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    java.awt.Graphics2D g = image.createGraphics();
    g.setColor(new java.awt.Color(rgb));
    g.fillRect(0, 0, w, h);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "png", out);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static ImageEvent.Builder event(String eventId, String tenant) {
    return ImageEvent.newBuilder()
        .setEventId(eventId).setImageId("img-" + eventId).setTenant(tenant)
        .setSource(new InlineImage(ByteBuffer.wrap(PNG)))
        .setContentType("image/png")
        .setTasks(RequestedTasks.newBuilder()
            .setTag(TagTask.newBuilder().setLabelSet("moderation").build())
            .setCaption(new CaptionTask(null))
            .setVqa(VqaTask.newBuilder().setQuestions(List.of("Is there a weapon?")).build())
            .build())
        .setEventTime(Instant.ofEpochMilli(999_000));
  }

  private void publish(ImageEvent e) {
    images.pipeInput(e.getEventId().getBytes(), serdes.imageEvent().encode(e));
  }

  private void answer(TaskRequest request, TaskOutputs outputs, TaskFailure failure) {
    answer(request, request.getTenant(), outputs, failure);
  }

  private void answer(TaskRequest request, String tenant, TaskOutputs outputs, TaskFailure failure) {
    answer(request, tenant, request.getTenant() + "/" + request.getContentHash(), outputs, failure);
  }

  private void answer(TaskRequest request, String tenant, String key, TaskOutputs outputs, TaskFailure failure) {
    TaskResult r = TaskResult.newBuilder()
        .setTaskId(request.getTaskId()).setEventId(request.getEventId()).setImageId(request.getImageId())
        .setTenant(tenant).setTask(request.getTask())
        .setModel(new ModelInfo("test-model", "r1"))
        .setOutputs(outputs).setFailure(failure)
        .setTimings(Timings.newBuilder().build())
        .setWorkerId("w1").setProducedAt(Instant.ofEpochMilli(1_000_500))
        .build();
    results.pipeInput(key.getBytes(), serdes.taskResult().encode(r));
  }

  static TaskOutputs labels(float weapon) {
    return TaskOutputs.newBuilder().setLabels(List.of(new LabelScore("a weapon", weapon, 0.3f),
        new LabelScore("a cat", 1 - weapon, 0.2f))).build();
  }

  static TaskOutputs caption() {
    return TaskOutputs.newBuilder().setCaption("a red square").build();
  }

  static TaskOutputs yes(float p) {
    return TaskOutputs.newBuilder().setAnswers(List.of(Answer.newBuilder().setQuestion("is there a weapon?")
        .setAnswer(p > 0.5 ? "yes" : "no").setYesProbability(p).build())).build();
  }

  private TaskRequest onlyRequest(TaskType t) {
    List<TaskRequest> all = tasks.get(t).readValuesToList();
    assertThat(all).hasSize(1);
    return all.get(0);
  }

  @Test
  void validEventRoutesOneRequestPerTaskAndJoinsTheResults() {
    start(Map.of());
    publish(event("e1", "acme").build());

    var tagRecord = tasks.get(TaskType.TAG).readRecord();
    TaskRequest tag = tagRecord.value();
    TaskRequest cap = onlyRequest(TaskType.CAPTION);
    TaskRequest vqa = onlyRequest(TaskType.VQA);
    assertThat(tagRecord.key()).isEqualTo("acme/" + ImageEventValidator.sha256(PNG));
    assertThat(tag.getTag().getLabels()).containsExactly("a weapon", "a cat");
    assertThat(tag.getTag().getLabelSet()).isEqualTo("moderation");
    assertThat(tag.getCaption()).isNull();
    assertThat(cap.getTask()).isEqualTo(TaskType.CAPTION);
    assertThat(vqa.getVqa().getQuestions()).containsExactly("Is there a weapon?");
    assertThat(tag.getDeadline()).isEqualTo(Instant.ofEpochMilli(1_000_000 + DEADLINE_MS));

    answer(tag, labels(0.1f), null);
    answer(cap, caption(), null);
    assertThat(enriched.isEmpty()).isTrue();
    answer(vqa, yes(0.2f), null);

    EnrichedImage out = enriched.readValue();
    assertThat(out.getComplete()).isTrue();
    assertThat(out.getMissing()).isEmpty();
    assertThat(out.getResults()).extracting(TaskResult::getTask)
        .containsExactlyInAnyOrder(TaskType.TAG, TaskType.CAPTION, TaskType.VQA);
    assertThat(out.getReusedFrom()).isNull();
    ModerationDecision decision = moderation.readValue();
    assertThat(decision.getAction()).isEqualTo(ModerationAction.ALLOW);
    assertThat(decision.getPolicyVersion()).isEqualTo("p-1");
    assertThat(dlq.isEmpty()).isTrue();
  }

  static Stream<Arguments> invalidEvents() {
    byte[] jpeg = TestJpeg.BYTES;
    return Stream.of(
        Arguments.of("MISSING_ID", (UnaryOperator<ImageEvent.Builder>) b -> b.setEventId(" ")),
        Arguments.of("ID_TOO_LONG", (UnaryOperator<ImageEvent.Builder>) b -> b.setImageId("x".repeat(300))),
        Arguments.of("BAD_TENANT", (UnaryOperator<ImageEvent.Builder>) b -> b.setTenant("../Acme")),
        Arguments.of("UNKNOWN_TENANT", (UnaryOperator<ImageEvent.Builder>) b -> b.setTenant("initech")),
        Arguments.of("NO_TASKS", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(new RequestedTasks(null, null, null))),
        Arguments.of("UNKNOWN_LABEL_SET", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(
            new RequestedTasks(TagTask.newBuilder().setLabelSet("products").build(), null, null)).setTenant("globex")),
        Arguments.of("NO_LABELS", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(
            new RequestedTasks(TagTask.newBuilder().build(), null, null))),
        Arguments.of("NO_QUESTIONS", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(
            new RequestedTasks(null, null, VqaTask.newBuilder().setQuestions(List.of()).build()))),
        Arguments.of("TOO_MANY_QUESTIONS", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(new RequestedTasks(null,
            null, VqaTask.newBuilder().setQuestions(Collections.nCopies(4, "why?")).build()))),
        Arguments.of("QUESTION_TOO_LONG", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(new RequestedTasks(null,
            null, VqaTask.newBuilder().setQuestions(List.of("why".repeat(200))).build()))),
        Arguments.of("METADATA_TOO_LARGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setMetadata(
            Map.of("nested", "{\"a\":{\"b\":{\"c\":\"" + "d".repeat(100) + "\"}}}"))),
        Arguments.of("METADATA_TOO_LARGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setMetadata(
            Map.of("k".repeat(129), ""))),
        Arguments.of("METADATA_TOO_LARGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setMetadata(
            Map.of("deep", "[".repeat(5_000)))),
        Arguments.of("METADATA_TOO_LARGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setMetadata(
            IntStream.range(0, 65).boxed().collect(Collectors.toMap(i -> "k" + i, i -> "")))),
        Arguments.of("TOO_MANY_TEMPLATES", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(new RequestedTasks(
            TagTask.newBuilder().setLabels(List.of("cat")).setTemplates(Collections.nCopies(33, "a {}")).build(),
            null, null))),
        Arguments.of("QUESTION_TOO_LONG", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(new RequestedTasks(null,
            new CaptionTask("describe ".repeat(100)), null))),
        Arguments.of("QUESTION_TOO_LONG", (UnaryOperator<ImageEvent.Builder>) b -> b.setTasks(new RequestedTasks(null,
            null, VqaTask.newBuilder().setQuestions(List.of("which?")).setCandidates(List.of("x".repeat(513))).build()))),
        Arguments.of("CORRUPT_IMAGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new InlineImage(ByteBuffer.wrap(Arrays.copyOf(PNG, PNG.length - 20))))),
        Arguments.of("NOT_AN_IMAGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setContentType("image/jpeg").setSource(
            new InlineImage(ByteBuffer.wrap("%PDF-1.7\n".getBytes())))),
        Arguments.of("TOO_LARGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new InlineImage(ByteBuffer.wrap(new byte[100_001])))),
        Arguments.of("NOT_AN_IMAGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new InlineImage(ByteBuffer.wrap("GET / HTTP/1.1".getBytes())))),
        Arguments.of("CONTENT_TYPE_MISMATCH", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new InlineImage(ByteBuffer.wrap(jpeg)))),
        Arguments.of("DIMENSIONS_TOO_LARGE", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new InlineImage(ByteBuffer.wrap(png(4001, 1, 0))))),
        Arguments.of("TOO_MANY_PIXELS", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new InlineImage(ByteBuffer.wrap(png(1100, 1000, 0))))),
        Arguments.of("URI_SCHEME_NOT_ALLOWED", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new ImageUri("file:///etc/passwd"))),
        Arguments.of("FORBIDDEN_ADDRESS", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(
            new ImageUri("http://169.254.169.254/latest/meta-data/"))),
        Arguments.of("BAD_URI", (UnaryOperator<ImageEvent.Builder>) b -> b.setSource(new ImageUri("http://a b/"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidEvents")
  void invalidEventsGoToTheDlqWithTheirReason(String reason, UnaryOperator<ImageEvent.Builder> breakIt) {
    start(Map.of("mmstream.images.max-pixels", "1000000"));
    ImageEvent bad = breakIt.apply(event("bad-1", "acme")).build();
    publish(bad);

    DeadLetter dead = dlq.readValue();
    assertThat(dead.getReasonCode()).isEqualTo(reason);
    assertThat(dead.getStage()).isEqualTo("validate");
    assertThat(dead.getOriginalTopic()).isEqualTo(Topics.IMAGES);
    assertThat(dead.getOriginalOffset()).isZero();
    assertThat(dead.getOriginalBytes().remaining()).isPositive();
    assertThat(dead.getApplication()).isEqualTo("mmstream-enrichment");
    assertThat(dead.getMessage()).isNotBlank();
    for (TaskType t : Topics.ROUTED_TASKS) {
      assertThat(tasks.get(t).isEmpty()).isTrue();
    }
    assertThat(enriched.isEmpty()).isTrue();
  }

  @Test
  void undecodableRecordsBecomeDeadLettersAndProcessingGoesOn() {
    start(Map.of());
    images.pipeInput("k".getBytes(), "not avro at all".getBytes());
    byte[] unknownFingerprint = serdes.imageEvent().encode(event("x", "acme").build());
    unknownFingerprint[5] ^= 0x5A;
    images.pipeInput(null, unknownFingerprint);
    results.pipeInput(null, new byte[] {(byte) 0xC3, 0x01, 1, 2});
    // Schema Registry wire format (00 + schema id 7) while no registry is configured
    images.pipeInput("r".getBytes(), new byte[] {0, 0, 0, 0, 7, 2, 'x'});
    publish(event("after", "acme").build());

    List<KeyValue<String, DeadLetter>> letters = dlq.readKeyValuesToList();
    List<DeadLetter> dead = letters.stream().map(kv -> kv.value).toList();
    assertThat(dead).extracting(DeadLetter::getReasonCode)
        .containsExactly("BAD_HEADER", "UNKNOWN_SCHEMA", "BAD_HEADER", "BAD_HEADER");
    assertThat(dead).extracting(DeadLetter::getStage).containsOnly("deserialize");
    assertThat(dead.get(1).getMessage()).contains("unknown writer schema fingerprint").contains("fingerprints.json");
    assertThat(dead.get(2).getOriginalTopic()).isEqualTo(Topics.RESULTS);
    assertThat(new String(dead.get(0).getOriginalKey().array())).isEqualTo("k");
    assertThat(letters.get(0).key).as("dead letter keyed by the original key").isEqualTo("k");
    assertThat(dead.get(0).getOriginalHeader()).isEqualTo(HexFormat.of().formatHex("not avro a".getBytes()));
    assertThat(dead.get(1).getOriginalHeader()).isEqualTo(HexFormat.of().formatHex(unknownFingerprint, 0, 10));
    assertThat(dead.get(1).getKnownFingerprints())
        .contains(String.format("%016x", SchemaStore.fingerprint(ImageEvent.getClassSchema())))
        .allSatisfy(fp -> assertThat(fp).matches("[0-9a-f]{16}"));
    assertThat(dead.get(0).getKnownFingerprints()).isEmpty();
    assertThat(dead.get(2).getOriginalHeader()).isEqualTo("c3010102");
    assertThat(dead.get(3).getOriginalHeader()).isEqualTo("0000000007");
    assertThat(dead.get(3).getMessage()).contains("schema id 7").contains("mmstream.schemas.registry.url");
    assertThat(tasks.get(TaskType.TAG).readValuesToList()).hasSize(1);
  }

  @Test
  void deadlineEmitsPartialNamingTimeoutsAndFailures() {
    start(Map.of());
    publish(event("e2", "acme").build());
    TaskRequest tag = onlyRequest(TaskType.TAG);
    TaskRequest vqa = onlyRequest(TaskType.VQA);
    onlyRequest(TaskType.CAPTION);
    answer(tag, labels(0.9f), null);
    answer(vqa, TaskOutputs.newBuilder().build(), new TaskFailure("CORRUPT_IMAGE", "PNG cannot be decoded"));

    driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_MS - 2_000));
    assertThat(enriched.isEmpty()).isTrue();
    driver.advanceWallClockTime(Duration.ofMillis(3_000));

    EnrichedImage partial = enriched.readValue();
    assertThat(partial.getComplete()).isFalse();
    assertThat(partial.getResults()).extracting(TaskResult::getTask).containsExactly(TaskType.TAG);
    assertThat(partial.getMissing()).extracting(m -> m.getTask() + " " + m.getReason()).containsExactlyInAnyOrder(
        "CAPTION TIMEOUT: no result within 10000 ms", "VQA FAILED: CORRUPT_IMAGE: PNG cannot be decoded");
    assertThat(moderation.readValue().getAction()).isEqualTo(ModerationAction.BLOCK);

    TaskRequest caption = TaskRequest.newBuilder(tag).setTask(TaskType.CAPTION).build();
    answer(caption, caption(), null);
    assertThat(dlq.readValue().getReasonCode()).isEqualTo("UNKNOWN_EVENT");
    driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_MS));
    assertThat(enriched.isEmpty()).isTrue();
  }

  @Test
  void resultsOfAnotherTenantOrUnrequestedTasksAreRefused() {
    start(Map.of());
    publish(event("e3", "acme").setTasks(new RequestedTasks(null, new CaptionTask(null), null)).build());
    TaskRequest cap = onlyRequest(TaskType.CAPTION);
    answer(cap, "globex", caption(), null);
    TaskRequest asTag = TaskRequest.newBuilder(cap).setTask(TaskType.TAG).build();
    answer(asTag, labels(0.1f), null);
    answer(cap, caption(), null);
    answer(cap, caption(), null);

    assertThat(dlq.readValuesToList()).extracting(DeadLetter::getReasonCode)
        .containsExactly("TENANT_MISMATCH", "UNEXPECTED_TASK", "UNKNOWN_EVENT");
    assertThat(enriched.readValue().getComplete()).isTrue();
  }

  private EnrichedImage runToCompletion(ImageEvent e) {
    publish(e);
    for (TaskType t : Topics.ROUTED_TASKS) {
      TaskRequest r = onlyRequest(t);
      answer(r, switch (t) {
        case TAG -> labels(0.1f);
        case CAPTION -> caption();
        default -> yes(0.1f);
      }, null);
    }
    moderation.readValue();
    return enriched.readValue();
  }

  @Test
  void repostsReuseEarlierResultsPerTenantWithinTheRetention() {
    start(Map.of("mmstream.repost.retention-ms", "60000"));
    EnrichedImage first = runToCompletion(event("orig", "acme").build());

    publish(event("repost", "acme").build());
    for (TaskType t : Topics.ROUTED_TASKS) {
      assertThat(tasks.get(t).isEmpty()).isTrue();
    }
    EnrichedImage reused = enriched.readValue();
    assertThat(reused.getEventId()).isEqualTo("repost");
    assertThat(reused.getImageId()).isEqualTo("img-repost");
    assertThat(reused.getReusedFrom()).isEqualTo("orig");
    assertThat(reused.getResults()).isEqualTo(first.getResults());
    assertThat(moderation.readValue().getEventId()).isEqualTo("repost");

    // the same bytes from another tenant run the models: no tenant sees another's results
    EnrichedImage other = runToCompletion(event("other-tenant", "globex").build());
    assertThat(other.getReusedFrom()).isNull();

    driver.advanceWallClockTime(Duration.ofMillis(61_000));
    EnrichedImage expired = runToCompletion(event("later", "acme").build());
    assertThat(expired.getReusedFrom()).isNull();
  }

  @Test
  void repostReuseCanBeSwitchedOff() {
    start(Map.of("mmstream.repost.enabled", "false"));
    runToCompletion(event("a", "acme").build());
    assertThat(runToCompletion(event("b", "acme").build()).getReusedFrom()).isNull();
  }

  @Test
  void partialResultsAreNotCachedForReposts() {
    start(Map.of());
    publish(event("p1", "acme").build());
    tasks.values().forEach(TestOutputTopic::readValuesToList);
    driver.advanceWallClockTime(Duration.ofMillis(DEADLINE_MS + 1_000));
    assertThat(enriched.readValue().getComplete()).isFalse();
    publish(event("p2", "acme").build());
    assertThat(tasks.get(TaskType.TAG).readValuesToList()).hasSize(1);
  }

  @Test
  void duplicateEventIdsWhileInFlightAreRefused() {
    start(Map.of());
    publish(event("dup", "acme").build());
    publish(event("dup", "acme").build());
    assertThat(dlq.readValue().getReasonCode()).isEqualTo("DUPLICATE_EVENT");
    assertThat(tasks.get(TaskType.TAG).readValuesToList()).hasSize(1);
  }

  @ParameterizedTest(name = "weapon label {0}, yes {1} -> {2}")
  @MethodSource("moderationCases")
  void moderationActionsFollowThePolicyThresholds(float label, float yes, ModerationAction action) {
    start(Map.of("mmstream.repost.enabled", "false"));
    publish(event("m", "acme").build());
    answer(onlyRequest(TaskType.TAG), labels(label), null);
    answer(onlyRequest(TaskType.CAPTION), caption(), null);
    answer(onlyRequest(TaskType.VQA), yes(yes), null);
    ModerationDecision d = moderation.readValue();
    assertThat(d.getAction()).isEqualTo(action);
    assertThat(d.getCategories()).singleElement().satisfies(c -> {
      assertThat(c.getCategory()).isEqualTo("weapons");
      assertThat(c.getScore()).isEqualTo(Math.max(label, yes));
    });
  }

  static Stream<Arguments> moderationCases() {
    return Stream.of(
        Arguments.of(0.1f, 0.2f, ModerationAction.ALLOW),
        Arguments.of(0.6f, 0.1f, ModerationAction.REVIEW),
        Arguments.of(0.1f, 0.85f, ModerationAction.BLOCK));
  }

  @Test
  void tenantPolicyAppliesAndMissingSignalsUseItsNoSignalAction() {
    start(Map.of());
    publish(event("s", "strict").setTasks(new RequestedTasks(null, new CaptionTask(null), null)).build());
    answer(onlyRequest(TaskType.CAPTION), caption(), null);
    ModerationDecision d = moderation.readValue();
    assertThat(d.getPolicyVersion()).isEqualTo("s-1");
    assertThat(d.getAction()).isEqualTo(ModerationAction.REVIEW);
    assertThat(d.getReasons()).singleElement().asString().contains("no signal");
  }

  @Test
  void recordsOverTheEventSizeLimitAreDeadLetteredUndecodedAndTheNextEventIsRouted() {
    start(Map.of("mmstream.validate.max-event-bytes", "50000", "mmstream.stream.dlq-original-max-bytes", "20000"));
    byte[] bigButValidPng = new byte[60_000];
    System.arraycopy(PNG, 0, bigButValidPng, 0, PNG.length);
    publish(event("too-big", "acme").setSource(new InlineImage(ByteBuffer.wrap(bigButValidPng))).build());
    publish(event("after", "acme").build());

    DeadLetter dead = dlq.readValue();
    assertThat(dead.getReasonCode()).isEqualTo("EVENT_TOO_LARGE");
    assertThat(dead.getStage()).isEqualTo("deserialize");
    assertThat(dead.getMessage()).contains("mmstream.validate.max-event-bytes=50000");
    assertThat(dead.getOriginalBytes()).as("over dlq-original-max-bytes: only where it was").isNull();
    assertThat(dead.getOriginalOffset()).isZero();
    assertThat(dlq.isEmpty()).isTrue();
    assertThat(onlyRequest(TaskType.TAG).getEventId()).isEqualTo("after");
  }

  @Test
  void malformedAvroBodiesBecomeDeadLettersAndProcessingGoesOn() {
    start(Map.of());
    byte[] valid = serdes.imageEvent().encode(event("x", "acme").build());
    byte[] truncatedBody = Arrays.copyOf(valid, 40);
    byte[] hugeStringLength = Arrays.copyOf(valid, 20);
    // the first field (eventId) announces a string of 2^31 - 1 bytes (zig-zag varint)
    System.arraycopy(new byte[] {(byte) 0xFE, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F}, 0, hugeStringLength, 10, 5);
    byte[] badUnionIndex = valid.clone();
    badUnionIndex[10] = 0x7F; // eventId length 63 (zig-zag -64): negative
    images.pipeInput("k1".getBytes(), truncatedBody);
    images.pipeInput("k2".getBytes(), hugeStringLength);
    images.pipeInput("k3".getBytes(), badUnionIndex);
    publish(event("after", "acme").build());

    assertThat(dlq.readValuesToList()).extracting(DeadLetter::getReasonCode)
        .containsExactly("MALFORMED", "MALFORMED", "MALFORMED");
    assertThat(onlyRequest(TaskType.TAG).getEventId()).isEqualTo("after");
  }

  @Test
  void tenantsNeverSeeEachOthersResultsJoinStateOrCachedResults() {
    start(Map.of("mmstream.repost.retention-ms", "60000"));
    String hash = ImageEventValidator.sha256(PNG);
    // the same bytes under the same event id from two tenants, both in flight at once
    publish(event("same-id", "acme").build());
    publish(event("same-id", "strict").build());
    assertThat(dlq.isEmpty()).as("the second tenant's event is not a duplicate of the first's").isTrue();
    Map<String, Map<TaskType, TaskRequest>> byTenant = new HashMap<>();
    for (TaskType t : Topics.ROUTED_TASKS) {
      for (var r : tasks.get(t).readRecordsToList()) {
        assertThat(r.key()).isEqualTo(r.value().getTenant() + "/" + hash);
        byTenant.computeIfAbsent(r.value().getTenant(), k -> new HashMap<>()).put(t, r.value());
      }
    }
    assertThat(byTenant.keySet()).containsExactlyInAnyOrder("acme", "strict");
    Map<TaskType, TaskRequest> acme = byTenant.get("acme");
    Map<TaskType, TaskRequest> strict = byTenant.get("strict");

    // forged or misrouted results: one tenant's key with the other's tenant field, or keyed for other bytes
    answer(acme.get(TaskType.TAG), "acme", "strict/" + hash, labels(0.9f), null);
    answer(strict.get(TaskType.TAG), "strict", "acme/" + hash, labels(0.9f), null);
    answer(acme.get(TaskType.TAG), "acme", "acme/" + ImageEventValidator.sha256(new byte[] {1}), labels(0.9f), null);
    answer(TaskRequest.newBuilder(acme.get(TaskType.TAG)).setEventId("only-acme-has-this").build(), "strict",
        "strict/" + hash, labels(0.9f), null);
    assertThat(dlq.readValuesToList()).extracting(DeadLetter::getReasonCode)
        .containsExactly("TENANT_MISMATCH", "TENANT_MISMATCH", "KEY_MISMATCH", "UNKNOWN_EVENT");
    assertThat(enriched.isEmpty()).isTrue();

    acme.values().forEach(r -> answer(r, r.getTask() == TaskType.TAG ? labels(0.1f) : caption(), null));
    EnrichedImage acmeOut = enriched.readValue();
    assertThat(enriched.isEmpty()).as("strict's enrichment still waits for strict's results").isTrue();
    assertThat(acmeOut.getTenant()).isEqualTo("acme");
    assertThat(acmeOut.getResults()).extracting(TaskResult::getTenant).containsOnly("acme");
    assertThat(moderation.readValue().getPolicyVersion()).isEqualTo("p-1");

    strict.values().forEach(r -> answer(r, r.getTask() == TaskType.TAG ? labels(0.3f) : caption(), null));
    EnrichedImage strictOut = enriched.readValue();
    assertThat(strictOut.getTenant()).isEqualTo("strict");
    assertThat(strictOut.getResults()).extracting(TaskResult::getTenant).containsOnly("strict");
    ModerationDecision strictDecision = moderation.readValue();
    assertThat(strictDecision.getPolicyVersion()).isEqualTo("s-1");
    assertThat(strictDecision.getAction()).as("strict's own thresholds (review 0.2)").isEqualTo(ModerationAction.REVIEW);

    // a repost reuses only its own tenant's cache; a third tenant's copy runs the models
    publish(event("acme-repost", "acme").build());
    assertThat(enriched.readValue().getReusedFrom()).isEqualTo("same-id");
    publish(event("globex-copy", "globex").build());
    assertThat(enriched.isEmpty()).isTrue();
    assertThat(onlyRequest(TaskType.TAG).getTenant()).isEqualTo("globex");
  }

  @Test
  void labelSetsAreResolvedPerTenant() {
    start(Map.of());
    RequestedTasks products = new RequestedTasks(TagTask.newBuilder().setLabelSet("products").build(), null, null);
    publish(event("a", "acme").setTasks(products).build());
    publish(event("g", "globex").setTasks(products).build());
    assertThat(onlyRequest(TaskType.TAG).getTag().getLabels()).containsExactly("shoe", "bag");
    DeadLetter refused = dlq.readValue();
    assertThat(refused.getEventId()).isEqualTo("g");
    assertThat(refused.getReasonCode()).isEqualTo("UNKNOWN_LABEL_SET");
  }

  @Test
  void uriSourcesAreRoutedWithTheUriHash() {
    start(Map.of());
    String uri = "https://93.184.215.14/cat.png";
    publish(event("u", "acme").setSource(new ImageUri(uri)).setContentType(null).build());
    TaskRequest r = onlyRequest(TaskType.TAG);
    assertThat(r.getSource()).isEqualTo(new ImageUri(uri));
    assertThat(r.getContentHash()).isEqualTo(ImageEventValidator.sha256(uri.getBytes()));
  }
}

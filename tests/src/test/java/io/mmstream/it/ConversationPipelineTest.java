package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.mmstream.cli.ChatMessages;
import io.mmstream.cli.ConversationClient;
import io.mmstream.cli.ImageEvents;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.image.PixelImage;
import io.mmstream.schema.ChatMessage;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.ConversationTurn;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.ModelInfo;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.stream.ConversationSettings;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.TopicSettings;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ChatAnswer;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.ModelSource;
import io.mmstream.worker.TaskModelFactory;
import io.mmstream.worker.WorkerMain;
import io.mmstream.worker.WorkerModel;
import io.mmstream.worker.WorkerSettings;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.cli.Main;
import picocli.CommandLine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.CloseOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Conversations through Kafka on a real broker, with the stream app and a chat worker whose model records every
 * turn it is given and answers "answer to PROMPT". Each conversation's messages are published in a burst before any
 * worker runs; every reply must come out exactly once and in the conversation's order, and every turn's model input
 * must hold the earlier turns. The stream app and the worker are then killed mid-conversation and restarted.
 */
class ConversationPipelineTest {
  private static final AvroSerdes SERDES = AvroSerdes.standard();
  private static KafkaTestCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = KafkaTestCluster.start();
  }

  @AfterAll
  static void stopCluster() throws Exception {
    cluster.close();
  }

  /** A chat model that records each turn it answers and answers from the prompt alone. */
  record RecordingChatModel(Queue<ChatTask> seen, long delayMs) implements WorkerModel<ChatTask, ChatTask, ChatAnswer> {
    @Override
    public ModelInfo info() {
      return new ModelInfo("recording-chat", "1");
    }

    @Override
    public ChatTask prepare(ChatTask task, PixelImage image) {
      assertThat(image).as("every turn carries the conversation's image").isNotNull();
      return task;
    }

    @Override
    public List<ChatAnswer> runBatch(List<ChatTask> batch) {
      try {
        Thread.sleep(delayMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      seen.addAll(batch);
      return batch.stream().map(t -> new ChatAnswer(answerTo(t.getPrompt()), 0, 1, 1)).toList();
    }

    @Override
    public void warmUp(int maxBatchSize) {}

    @Override
    public void close() {}
  }

  static String answerTo(String prompt) {
    return "answer to " + prompt;
  }

  private static WorkerMain startWorker(Settings settings, RecordingChatModel model) {
    Settings s = settings
        .with(WorkerSettings.KIND.key(), "chat")
        .with(WorkerSettings.MODEL_DIR.key(), "recording-chat")
        .with(WorkerSettings.HTTP_PORT.key(), -1)
        .with(WorkerSettings.WORKER_ID.key(), "chat-recorder")
        .with(WorkerSettings.BATCH_MAX_SIZE.key(), 4)
        .with(WorkerSettings.BATCH_MAX_DELAY_MS.key(), 20)
        .with(WorkerSettings.COMMIT_INTERVAL_MS.key(), 50);
    return WorkerMain.start(WorkerSettings.from(s), new TaskModelFactory() {
      @Override
      public Set<ModelKind> kinds() {
        return Set.of(ModelKind.CHAT);
      }

      @Override
      public WorkerModel<?, ?, ?> load(ModelKind kind, ModelSource source, Device device, boolean fp16, Settings unused) {
        return model;
      }
    });
  }

  private static Settings settings(String run) throws Exception {
    return Settings.empty()
        .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
        .with(TopicSettings.PARTITIONS.key(), 2)
        .with(StreamSettings.STATE_DIR.key(), Files.createTempDirectory("mmstream-" + run + "-state").toString())
        .with(StreamSettings.APPLICATION_ID.key(), "mmstream-" + run + "-" + System.nanoTime())
        .with(ConversationSettings.TURN_DEADLINE_MS.key(), 120_000);
  }

  static String question(String conversation, int turn) {
    return "question " + turn + " of " + conversation;
  }

  /** {@code conversations} × {@code turns} messages, each conversation's in order, the first with the image. */
  private static List<ChatMessage> conversations(String prefix, int conversations, int turns) throws Exception {
    ImageEvents.ImageSource image = ImageEvents.inline("scene.png", png());
    List<ChatMessage> out = new ArrayList<>();
    for (int c = 0; c < conversations; c++) {
      String id = prefix + "-" + c;
      for (int t = 1; t <= turns; t++) {
        out.add(ChatMessages.message("acme", id, question(id, t), t == 1 ? image : null));
      }
    }
    return out;
  }

  private static void publish(Settings settings, List<ChatMessage> messages) throws Exception {
    try (KafkaProducer<String, ChatMessage> producer = new KafkaProducer<>(KafkaClientConfig.producer(settings, "chat-it"),
        new StringSerializer(), SERDES.chatMessage().serializer())) {
      for (ChatMessage m : messages) {
        producer.send(new ProducerRecord<>(Topics.CHAT, ChatMessages.key(m), m));
      }
      producer.flush();
    }
  }

  /** Every committed record of {@code topic} until {@code done} holds, then {@code quietMs} more (late duplicates would show). */
  private static List<ConsumerRecord<byte[], byte[]>> read(Settings settings, String topic,
      Predicate<List<ConsumerRecord<byte[], byte[]>>> done, long quietMs) {
    Properties props = KafkaClientConfig.consumer(settings, "chat-it-" + System.nanoTime(), "chat-it");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 120_000;
      long quietUntil = Long.MAX_VALUE;
      while (System.currentTimeMillis() < Math.min(deadline, quietUntil)) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        if (quietUntil == Long.MAX_VALUE && done.test(out)) {
          quietUntil = System.currentTimeMillis() + quietMs;
        }
      }
    }
    return out;
  }

  /** The replies of the conversations named {@code prefix}-N (the topics are shared with other tests). */
  private static List<ChatReply> replies(Settings settings, String prefix, int atLeast, long quietMs) {
    Predicate<ConsumerRecord<byte[], byte[]>> ours = r -> new String(r.key(), StandardCharsets.UTF_8)
        .startsWith("acme/" + prefix + "-");
    return read(settings, Topics.CHAT_REPLIES, r -> r.stream().filter(ours).count() >= atLeast, quietMs).stream()
        .filter(ours).map(r -> SERDES.chatReply().decode(r.value())).toList();
  }

  /** Each conversation's replies in topic order: one per message, turns 1..n, the right text. */
  private static void assertEveryTurnOnceInOrder(List<ChatMessage> sent, List<ChatReply> replies) {
    Map<String, List<ChatReply>> byConversation = new LinkedHashMap<>();
    replies.forEach(r -> byConversation.computeIfAbsent(r.getConversationId(), k -> new ArrayList<>()).add(r));
    Map<String, List<ChatMessage>> sentByConversation = new LinkedHashMap<>();
    sent.forEach(m -> sentByConversation.computeIfAbsent(m.getConversationId(), k -> new ArrayList<>()).add(m));
    assertThat(byConversation.keySet()).containsExactlyInAnyOrderElementsOf(sentByConversation.keySet());
    sentByConversation.forEach((conversation, messages) -> {
      List<ChatReply> got = byConversation.get(conversation);
      assertThat(got).as("replies of %s", conversation).extracting(ChatReply::getMessageId)
          .containsExactlyElementsOf(messages.stream().map(ChatMessage::getMessageId).toList());
      for (int i = 0; i < got.size(); i++) {
        assertThat(got.get(i).getTurn()).isEqualTo(i + 1);
        assertThat(got.get(i).getFailure()).isNull();
        assertThat(got.get(i).getText()).isEqualTo(answerTo(messages.get(i).getText()));
      }
    });
  }

  /** The turns of the conversations named {@code prefix}-N the model saw (the topics are shared with other tests). */
  private static List<ChatTask> seen(Queue<ChatTask> seen, String prefix) {
    return seen.stream().filter(t -> t.getConversationId().startsWith(prefix + "-")).toList();
  }

  /** Every turn the model saw carried all earlier turns of its conversation, oldest first. */
  private static void assertHistoryReachedTheModel(List<ChatTask> seen) {
    assertThat(seen).isNotEmpty();
    for (ChatTask task : seen) {
      List<ConversationTurn> expected = new ArrayList<>();
      for (int t = 1; t < task.getTurn(); t++) {
        String q = question(task.getConversationId(), t);
        expected.add(new ConversationTurn(q, answerTo(q)));
      }
      assertThat(task.getHistory()).as("history of %s turn %d", task.getConversationId(), task.getTurn())
          .containsExactlyElementsOf(expected);
      assertThat(task.getPrompt()).isEqualTo(question(task.getConversationId(), task.getTurn()));
    }
  }

  @Test
  void twentyConversationsOfThreeTurnsPublishedInABurstAreAnsweredOnceInOrderWithTheirHistory() throws Exception {
    Settings settings = settings("chat-burst");
    String prefix = "burst";
    List<ChatMessage> sent = conversations(prefix, 20, 3);
    Queue<ChatTask> seen = new ConcurrentLinkedQueue<>();
    try (StreamApp app = StreamApp.start(settings)) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      // Every message is in Kafka before a worker runs: no reply can exist yet.
      publish(settings, sent);
      try (WorkerMain worker = startWorker(settings, new RecordingChatModel(seen, 0))) {
        List<ChatReply> replies = replies(settings, prefix, sent.size(), 2_000);
        assertThat(replies).hasSize(sent.size());
        assertEveryTurnOnceInOrder(sent, replies);
        assertHistoryReachedTheModel(seen(seen, prefix));
        assertThat(seen(seen, prefix)).as("one generation per turn").hasSize(sent.size());
        assertThat(replies).anySatisfy(r -> assertThat(r.getBatchSize()).isGreaterThan(1));

        // A message id seen before gets its stored reply again, with no second generation; bad messages are
        // dead letters with a reason and leave the conversations alone.
        ChatMessage repeated = sent.get(4);
        ChatMessage noImage = ChatMessages.message("acme", prefix + "-never-started", "hello?", (ImageEvents.ImageSource) null);
        publish(settings, List.of(repeated, noImage));
        try (KafkaProducer<String, ChatMessage> producer = new KafkaProducer<>(
            KafkaClientConfig.producer(settings, "chat-it"), new StringSerializer(), SERDES.chatMessage().serializer())) {
          producer.send(new ProducerRecord<>(Topics.CHAT, "globex/" + repeated.getConversationId(), repeated)).get();
        }
        List<ChatReply> after = replies(settings, prefix, sent.size() + 1, 2_000);
        assertThat(after).hasSize(sent.size() + 1);
        ChatReply again = after.get(after.size() - 1).getMessageId().equals(repeated.getMessageId())
            ? after.get(after.size() - 1)
            : after.stream().filter(r -> r.getMessageId().equals(repeated.getMessageId())).skip(1).findFirst().orElseThrow();
        assertThat(again).isEqualTo(replies.stream().filter(r -> r.getMessageId().equals(repeated.getMessageId()))
            .findFirst().orElseThrow());
        assertThat(seen(seen, prefix)).hasSize(sent.size());
        Set<String> ids = Set.of(noImage.getMessageId(), repeated.getMessageId());
        List<DeadLetter> letters = read(settings, Topics.DLQ, r -> true, 3_000).stream()
            .map(r -> SERDES.deadLetter().decode(r.value())).filter(d -> ids.contains(d.getEventId())).toList();
        assertThat(letters).extracting(DeadLetter::getReasonCode)
            .containsExactlyInAnyOrder("UNKNOWN_CONVERSATION", "TENANT_MISMATCH");
      }
    }
  }

  @Test
  void killingTheStreamAppAndTheWorkerMidConversationLosesDuplicatesAndReordersNoTurn() throws Exception {
    Settings settings = settings("chat-kill");
    String prefix = "kill";
    List<ChatMessage> sent = conversations(prefix, 10, 3);
    Queue<ChatTask> seen = new ConcurrentLinkedQueue<>();
    StreamApp app = StreamApp.start(settings);
    assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
    publish(settings, sent);
    WorkerMain worker = startWorker(settings, new RecordingChatModel(seen, 400));
    List<ChatReply> before = replies(settings, prefix, 6, 0);
    assertThat(before.size()).as("mid-conversation").isLessThan(sent.size());
    // The worker dies inside a commit (open transaction, no LeaveGroup), as kill -9 leaves it. The stream app is
    // stopped without waiting for its threads (it leaves its group, or its successor would wait out the 45 s
    // session timeout) and comes back with an empty state directory: its state must come back from the changelogs.
    worker.worker().crashDuringNextCommit();
    worker.close();
    app.streams().close(CloseOptions.timeout(Duration.ZERO)
        .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
    Settings restarted = settings.with(StreamSettings.STATE_DIR.key(),
        Files.createTempDirectory("mmstream-chat-kill-restarted").toString());
    try (StreamApp again = StreamApp.start(restarted);
        WorkerMain workerAgain = startWorker(settings, new RecordingChatModel(seen, 0))) {
      assertThat(again.awaitRunning(Duration.ofSeconds(90))).isTrue();
      List<ChatReply> replies = replies(settings, prefix, sent.size(), 2_000);
      assertThat(replies).hasSize(sent.size());
      assertEveryTurnOnceInOrder(sent, replies);
      assertHistoryReachedTheModel(seen(seen, prefix));
    }
  }

  @Test
  void publishChatAndTailChatRepliesAsJsonCarryAConversation() throws Exception {
    Settings settings = settings("chat-cli");
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    String bootstrap = cluster.bootstrapServers();
    Queue<ChatTask> seen = new ConcurrentLinkedQueue<>();
    try (StreamApp app = StreamApp.start(settings); WorkerMain worker = startWorker(settings, new RecordingChatModel(seen, 0))) {
      assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
      String conversation = "cli-" + System.nanoTime();
      for (int turn = 1; turn <= 2; turn++) {
        List<String> args = new ArrayList<>(List.of("publish", "-b", bootstrap, "--tenant", "acme", "--chat", conversation,
            "--message", question(conversation, turn)));
        if (turn == 1) {
          args.addAll(List.of("--image", home.resolve("samples/scene-02.png").toString()));
        }
        StringWriter out = new StringWriter();
        assertThat(new CommandLine(new Main()).setOut(new PrintWriter(out)).execute(args.toArray(String[]::new))).isZero();
        assertThat(out.toString()).contains("published message ", "acme/" + conversation);
      }
      read(settings, Topics.CHAT_REPLIES, r -> r.stream().filter(x -> new String(x.key(), StandardCharsets.UTF_8)
          .equals("acme/" + conversation)).count() >= 2, 0);
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      PrintStream stdout = System.out;
      System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
      try {
        assertThat(new CommandLine(new Main()).execute("tail", "-b", bootstrap, "--topic", "chat-replies", "--json",
            "--idle-exit-ms", "3000")).isZero();
      } finally {
        System.setOut(stdout);
      }
      ObjectMapper json = new ObjectMapper();
      List<JsonNode> ours = new ArrayList<>();
      for (String line : printed.toString(StandardCharsets.UTF_8).split("\n")) {
        if (!line.startsWith("{")) {
          continue; // log lines of the apps running in this JVM share stdout
        }
        JsonNode node = json.readTree(line);
        if (node.path("conversationId").asText().equals(conversation)) {
          ours.add(node);
        }
      }
      assertThat(ours).extracting(n -> n.path("turn").asInt()).containsExactly(1, 2);
      assertThat(ours.get(1).path("text").asText()).isEqualTo(answerTo(question(conversation, 2)));
      assertThat(ours.get(1).path("tenant").asText()).isEqualTo("acme");
      assertThat(ours.get(1).has("droppedTurns")).isTrue();

      // The client behind `chat --conversation` and the demo: the third turn, answered with the first two as history.
      try (ConversationClient client = ConversationClient.open(settings, "acme", conversation)) {
        ChatReply third = client.ask(question(conversation, 3), null, Duration.ofSeconds(60));
        assertThat(third.getTurn()).isEqualTo(3);
        assertThat(third.getText()).isEqualTo(answerTo(question(conversation, 3)));
      }
      assertHistoryReachedTheModel(seen.stream().filter(t -> t.getConversationId().equals(conversation)).toList());
    }
  }

  private static byte[] png() throws Exception {
    BufferedImage image = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
    image.setRGB(3, 4, 0xFF0000);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }
}

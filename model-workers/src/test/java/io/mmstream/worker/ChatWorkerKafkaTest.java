package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.ImageLimits;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.ConversationTurn;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.InlineImage;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import io.mmstream.worker.models.BuiltInModelFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chat worker on each chat fixture and a real broker: two conversations (one turn with history), a bad image
 * and a turn for a model the worker does not serve. Every task gets exactly one reply keyed like the task; each
 * generated reply equals the model called directly on that turn alone, whose ids are the fixture's golden greedy
 * ids; the bad image and the unserved model fail in their reply (and the dead-letter topic) without holding up
 * the others.
 */
class ChatWorkerKafkaTest {
  private static final Path FIXTURES = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));
  private static final int MAX_NEW_TOKENS = 8;
  private static final AvroSerde<ChatTask> TASKS = AvroSerdes.standard().chatTask();
  private static final AvroSerde<ChatReply> REPLIES = AvroSerdes.standard().chatReply();
  private static final AvroSerde<DeadLetter> DEAD_LETTERS = AvroSerdes.standard().deadLetter();

  /**
   * @param first a golden case with an image and no history
   * @param followUp a golden case on the same image whose history is the first case's exchange
   * @param other a golden case with another image and no history
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"llava/llava-tiny, c0, c4, c1", "visualglm/visualglm-tiny, c0, c1, c2", "minigpt4/minigpt4-tiny, c2_t0, c2_t1, c0_t0",
      "qwen-vl/qwen-vl-tiny, c0, c4_followup, c1"})
  void repliesEqualTheModelCalledDirectlyAndFailuresAreReplies(String fixture, String first, String followUpCase,
      String other) throws Exception {
    Path dir = FIXTURES.resolve(fixture);
    JsonNode golden = new ObjectMapper().readTree(dir.resolve("golden.json").toFile());
    JsonNode c0 = goldenCase(golden, first);
    JsonNode c1 = goldenCase(golden, other);
    JsonNode c4 = goldenCase(golden, followUpCase);
    assertThat(c4.get("history")).as("the follow-up case has history").hasSize(1);
    assertThat(c4.get("image")).isEqualTo(c0.get("image"));

    ChatTask firstTurn = task("conv-a", "m-a1", 1, image(dir, c0), userText(c0.get("prompt").asText()), List.of(), null);
    ChatTask followUp = task("conv-a", "m-a2", 2, image(dir, c4), userText(c4.get("prompt").asText()), history(c4), null);
    ChatTask otherConversation = task("conv-b", "m-b1", 1, image(dir, c1), userText(c1.get("prompt").asText()), List.of(), null);
    ChatTask badImage = task("conv-c", "m-c1", 1, "not an image".getBytes(StandardCharsets.UTF_8), "what is it?", List.of(), null);
    ChatTask otherModel = task("conv-d", "m-d1", 1, image(dir, c0), "hello", List.of(), "qwen-vl-chat");
    List<ChatTask> tasks = List.of(firstTurn, followUp, otherConversation, badImage, otherModel);

    Map<String, ConsumerRecord<byte[], byte[]>> replyRecords = new HashMap<>();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        admin.createTopics(List.of(new NewTopic(Topics.TASKS_CHAT, 2, (short) 1), new NewTopic(Topics.CHAT_RESULTS, 2, (short) 1),
            new NewTopic(Topics.DLQ, 1, (short) 1))).all().get();
      }
      produce(broker, tasks);
      WorkerSettings settings = WorkerTestKit.settings(broker, Map.of(
          WorkerSettings.KIND.key(), "chat",
          WorkerSettings.MODEL_PRESET.key(), "",
          WorkerSettings.MODEL_DIR.key(), dir.toString(),
          WorkerSettings.WORKER_ID.key(), "chat-1",
          WorkerSettings.BATCH_MAX_SIZE.key(), "3",
          WorkerSettings.BATCH_MAX_DELAY_MS.key(), "1000",
          ModelSettings.CHAT_MAX_NEW_TOKENS.key(), Integer.toString(MAX_NEW_TOKENS),
          // Until the stream app dead-letters failed chat replies per cause, the worker writes them.
          WorkerSettings.DEAD_LETTER_TASK_FAILURES.key(), "true"));
      try (WorkerMain ignored = WorkerMain.start(settings, new BuiltInModelFactory())) {
        long deadline = System.nanoTime() + WorkerTestKit.WAIT.toNanos();
        while (replyRecords.size() < tasks.size() && System.nanoTime() < deadline) {
          Thread.sleep(200);
          replyRecords.clear();
          for (ConsumerRecord<byte[], byte[]> record : WorkerTestKit.readRecords(broker, Topics.CHAT_RESULTS, "read_committed")) {
            ConsumerRecord<byte[], byte[]> previous = replyRecords.put(REPLIES.decode(record.value()).getMessageId(), record);
            assertThat(previous).as("one reply per message").isNull();
          }
        }
      }
      assertThat(replyRecords).as("a reply for every task").hasSize(tasks.size());
      List<DeadLetter> deadLetters =
          WorkerTestKit.readAll(broker, Topics.DLQ, "read_committed").stream().map(DEAD_LETTERS::decode).toList();
      assertThat(deadLetters).extracting(DeadLetter::getEventId).containsExactlyInAnyOrder("m-c1", "m-d1");
      assertThat(deadLetters).filteredOn(d -> d.getEventId().equals("m-c1")).singleElement()
          .satisfies(d -> assertThat(d.getStage()).isEqualTo("decode"))
          .satisfies(d -> assertThat(d.getTaskId()).isEqualTo("conv-c#1"));
    }

    Map<String, ChatReply> replies = new HashMap<>();
    for (ChatTask task : tasks) {
      ConsumerRecord<byte[], byte[]> record = replyRecords.get(task.getMessageId());
      // Keyed like the task (tenant/conversationId): the stream app joins the reply to its conversation on it.
      assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo(key(task));
      ChatReply reply = REPLIES.decode(record.value());
      assertThat(List.of(reply.getTenant(), reply.getConversationId(), reply.getTurn()))
          .isEqualTo(List.of(task.getTenant(), task.getConversationId(), task.getTurn()));
      assertThat(reply.getModel().getName()).endsWith("/" + dir.getFileName());
      assertThat(reply.getWorkerId()).isEqualTo("chat-1");
      replies.put(task.getMessageId(), reply);
    }
    assertThat(replies.get("m-c1").getFailure().getReasonCode()).isNotBlank();
    assertThat(replies.get("m-c1").getFailure().getStage()).isEqualTo("decode");
    assertThat(replies.get("m-c1").getText()).isEmpty();
    assertThat(replies.get("m-d1").getFailure().getReasonCode()).isEqualTo("MODEL_NOT_SERVED");

    ImageLoader loader = new ImageLoader(ImageLimits.defaults());
    boolean promptsNameFiles = !userText(c0.get("prompt").asText()).equals(c0.get("prompt").asText());
    Map<String, JsonNode> goldenByMessage = Map.of("m-a1", c0, "m-a2", c4, "m-b1", c1);
    try (NDManager manager = NDManager.newBaseManager();
        VisionLanguageModel model = VisionLanguageModels.load(dir, manager)) {
      for (ChatTask task : List.of(firstTurn, followUp, otherConversation)) {
        ChatReply reply = replies.get(task.getMessageId());
        assertThat(reply.getFailure()).as(task.getMessageId()).isNull();
        List<ChatTurn> history = task.getHistory().stream().map(t -> new ChatTurn(t.getUser(), t.getAssistant())).toList();
        GenerationRequest request =
            new GenerationRequest(List.of(loader.load(task.getSource(), task.getContentType())), task.getPrompt(), history);
        GeneratedText direct = model.generate(List.of(request), DecodingOptions.greedy(MAX_NEW_TOKENS)).get(0);
        JsonNode expected = goldenByMessage.get(task.getMessageId());
        assertThat(direct.ids()).as("%s: golden greedy ids", task.getMessageId()).containsExactly(longs(expected.get("greedy_new_ids")));
        long[] goldenPromptIds = longs(expected.get("prompt_ids"));
        if (!promptsNameFiles) {
          assertThat(direct.promptIds()).as("%s: golden prompt ids", task.getMessageId()).containsExactly(goldenPromptIds);
        } else {
          // The image's name inside Qwen-VL's fixed-size span differs; those rows become image features either way.
          assertThat(direct.promptIds()).as("%s: golden prompt length", task.getMessageId()).hasSameSizeAs(goldenPromptIds);
        }
        assertThat(reply.getText()).as(task.getMessageId()).isEqualTo(direct.text());
        assertThat(reply.getGeneratedTokens()).isEqualTo(direct.ids().length);
        assertThat(reply.getPromptTokens()).isEqualTo(direct.promptIds().length);
        assertThat(reply.getDroppedTurns()).isEqualTo(direct.droppedTurns()).isZero();
      }
    }
    // The three generated turns were answered together: turns of different conversations share a batch.
    assertThat(List.of("m-a1", "m-a2", "m-b1")).anySatisfy(m -> assertThat(replies.get(m).getBatchSize()).isGreaterThan(1));
  }

  private static JsonNode goldenCase(JsonNode golden, String name) {
    for (JsonNode c : golden.get("cases")) {
      if (c.get("name").asText().equals(name)) {
        return c;
      }
    }
    throw new AssertionError("no golden case " + name);
  }

  private static byte[] image(Path dir, JsonNode goldenCase) throws Exception {
    return Files.readAllBytes(dir.resolve(goldenCase.get("image").asText()));
  }

  /**
   * What a user sends over Kafka: Qwen-VL's golden prompts name their image file ({@code Picture 1: <img>PATH</img>}),
   * while a chat task carries the image itself, which the model writes into the prompt as its original does.
   */
  private static String userText(String goldenPrompt) {
    return goldenPrompt.replaceFirst("^Picture \\d+: <img>[^<]*</img>\n", "");
  }

  private static List<ConversationTurn> history(JsonNode goldenCase) {
    List<ConversationTurn> turns = new ArrayList<>();
    goldenCase.get("history").forEach(t -> turns.add(new ConversationTurn(userText(t.get(0).asText()), t.get(1).asText())));
    return turns;
  }

  private static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  private static ChatTask task(String conversation, String message, int turn, byte[] image, String prompt,
      List<ConversationTurn> history, String model) {
    return ChatTask.newBuilder()
        .setTenant("tenant-a")
        .setConversationId(conversation)
        .setMessageId(message)
        .setTurn(turn)
        .setSource(new InlineImage(ByteBuffer.wrap(image)))
        .setContentHash("hash-" + conversation)
        .setPrompt(prompt)
        .setHistory(history)
        .setModel(model)
        .setMessageTime(Instant.now())
        .setDeadline(Instant.now().plus(Duration.ofHours(1)))
        .build();
  }

  /** The stream app's key of a chat task: tenant/conversationId. */
  private static String key(ChatTask task) {
    return task.getTenant() + "/" + task.getConversationId();
  }

  private static void produce(EmbeddedKafkaBroker broker, List<ChatTask> tasks) {
    Map<String, Object> config = Map.of("bootstrap.servers", broker.bootstrapServers(), "linger.ms", 5);
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
      tasks.forEach(t -> producer.send(new ProducerRecord<>(Topics.TASKS_CHAT, key(t), TASKS.encode(t))));
      producer.flush();
    }
  }
}

package io.mmstream.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.Settings;
import io.mmstream.image.ImageRejectedException;
import io.mmstream.schema.ChatMessage;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.ConversationState;
import io.mmstream.schema.ConversationTurn;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskFailure;
import io.mmstream.schema.Timings;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The conversation processor alone, on TopologyTestDriver: ordering, history, limits, dedupe, deadlines, dead letters. */
class ConversationTopologyTest {

  static final byte[] PNG = EnrichmentTopologyTest.png(32, 24, 0x00FF00);
  static final long TURN_DEADLINE_MS = 10_000;

  @TempDir Path stateDir;
  private final AvroSerdes serdes = AvroSerdes.standard();
  private TopologyTestDriver driver;
  private TestInputTopic<byte[], byte[]> messages;
  private TestInputTopic<byte[], byte[]> results;
  private TestOutputTopic<String, ChatTask> tasks;
  private TestOutputTopic<String, ChatReply> replies;
  private TestOutputTopic<String, DeadLetter> dlq;

  private void start(Map<String, String> overrides) {
    Map<String, String> s = new HashMap<>(Map.of(
        "mmstream.chat.turn-deadline-ms", Long.toString(TURN_DEADLINE_MS),
        "mmstream.tenants.allowed", "acme,globex",
        "mmstream.images.max-inline-bytes", "100000"));
    s.putAll(overrides);
    var topology = new ConversationTopology(Settings.of(s), serdes, StreamMetrics.unexposed()).build();
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "conversation-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    driver = new TopologyTestDriver(topology, props, Instant.ofEpochMilli(1_000_000));
    ByteArraySerializer bytes = new ByteArraySerializer();
    messages = driver.createInputTopic(Topics.CHAT, bytes, bytes);
    results = driver.createInputTopic(Topics.CHAT_RESULTS, bytes, bytes);
    StringDeserializer keys = new StringDeserializer();
    tasks = driver.createOutputTopic(Topics.TASKS_CHAT, keys, serdes.chatTask());
    replies = driver.createOutputTopic(Topics.CHAT_REPLIES, keys, serdes.chatReply());
    dlq = driver.createOutputTopic(Topics.DLQ, keys, serdes.deadLetter());
  }

  @AfterEach
  void close() {
    if (driver != null) {
      driver.close();
    }
  }

  static ChatMessage message(String tenant, String conversation, String messageId, String text, Object image) {
    return ChatMessage.newBuilder().setTenant(tenant).setConversationId(conversation).setMessageId(messageId)
        .setText(text).setImage(image).setContentType(image instanceof InlineImage ? "image/png" : null)
        .setMessageTime(Instant.ofEpochMilli(1_000_000)).build();
  }

  private void send(ChatMessage m) {
    send(m.getTenant() + "/" + m.getConversationId(), m);
  }

  private void send(String key, ChatMessage m) {
    messages.pipeInput(key.getBytes(StandardCharsets.UTF_8), serdes.chatMessage().encode(m));
  }

  /** The worker's answer to a task: "answer to <prompt>", or a failure. */
  private void answer(ChatTask task, String text, TaskFailure failure) {
    ChatReply reply = ChatReply.newBuilder().setTenant(task.getTenant()).setConversationId(task.getConversationId())
        .setMessageId(task.getMessageId()).setTurn(task.getTurn()).setText(failure == null ? text : "")
        .setModel(new ModelInfo("recorder", "1")).setFailure(failure).setTimings(new Timings(1L, 2L, 3L, 6L))
        .setWorkerId("w-1").setProducedAt(Instant.ofEpochMilli(1_000_100)).build();
    results.pipeInput((task.getTenant() + "/" + task.getConversationId()).getBytes(StandardCharsets.UTF_8),
        serdes.chatReply().encode(reply));
  }

  private ChatTask onlyTask() {
    List<ChatTask> routed = tasks.readValuesToList();
    assertThat(routed).hasSize(1);
    return routed.get(0);
  }

  private static InlineImage png() {
    return new InlineImage(ByteBuffer.wrap(PNG));
  }

  @Test
  void turnsWaitForThePreviousReplyAndCarryTheHistory() {
    start(Map.of());
    send(message("acme", "c1", "m1", "what shapes are there?", png()));
    send(message("acme", "c1", "m2", "where is the star?", null));
    send(message("acme", "c1", "m3", "what colour is it?", null));
    ChatTask first = onlyTask();
    assertThat(first.getTurn()).isEqualTo(1);
    assertThat(first.getHistory()).isEmpty();
    assertThat(first.getSource()).isEqualTo(png());
    assertThat(first.getContentHash()).isEqualTo(ImageSourceValidator.sha256(PNG));
    assertThat(first.getPrompt()).isEqualTo("what shapes are there?");
    assertThat(replies.isEmpty()).as("nothing answered yet").isTrue();

    answer(first, "a red circle and a blue star", null);
    ChatTask second = onlyTask();
    assertThat(second.getTurn()).isEqualTo(2);
    assertThat(second.getMessageId()).isEqualTo("m2");
    assertThat(second.getSource()).as("the conversation's image, from the store").isEqualTo(png());
    assertThat(second.getHistory()).containsExactly(new ConversationTurn("what shapes are there?",
        "a red circle and a blue star"));

    answer(second, "on the right", null);
    ChatTask third = onlyTask();
    assertThat(third.getTurn()).isEqualTo(3);
    assertThat(third.getHistory()).extracting(ConversationTurn::getAssistant)
        .containsExactly("a red circle and a blue star", "on the right");
    answer(third, "blue", null);

    var out = replies.readKeyValuesToList();
    assertThat(out).extracting(kv -> kv.key).containsOnly("acme/c1");
    assertThat(out).extracting(kv -> kv.value.getTurn()).containsExactly(1, 2, 3);
    assertThat(out).extracting(kv -> kv.value.getText()).containsExactly("a red circle and a blue star",
        "on the right", "blue");
    assertThat(out).extracting(kv -> kv.value.getMessageId()).containsExactly("m1", "m2", "m3");
    assertThat(dlq.isEmpty()).isTrue();
  }

  @Test
  void conversationsDoNotWaitForEachOther() {
    start(Map.of());
    send(message("acme", "a", "a1", "hello a", png()));
    send(message("acme", "b", "b1", "hello b", new ImageUri("https://images.example.com/b.png")));
    send(message("globex", "a", "g1", "hello globex", png()));
    List<ChatTask> routed = tasks.readValuesToList();
    assertThat(routed).extracting(ChatTask::getMessageId).containsExactly("a1", "b1", "g1");
    assertThat(routed.get(1).getSource()).isEqualTo(new ImageUri("https://images.example.com/b.png"));
  }

  @Test
  void historyIsBoundedOldestFirstAndTheReplySaysHowManyWereDropped() {
    start(Map.of("mmstream.chat.max-history-turns", "2", "mmstream.chat.max-history-chars", "40"));
    send(message("acme", "c", "m1", "q1", png()));
    for (int i = 1; i <= 4; i++) {
      ChatTask task = onlyTask();
      answer(task, "a" + i, null);
      send(message("acme", "c", "m" + (i + 1), "q" + (i + 1), null));
    }
    ChatTask fifth = onlyTask();
    assertThat(fifth.getTurn()).isEqualTo(5);
    assertThat(fifth.getHistory()).extracting(ConversationTurn::getUser).containsExactly("q3", "q4");
    // A long turn exceeds the character limit alone: the history keeps only what fits.
    String longAnswer = "x".repeat(39);
    answer(fifth, longAnswer, null);
    send(message("acme", "c", "m6", "q6", null));
    ChatTask sixth = onlyTask();
    assertThat(sixth.getHistory()).isEmpty();
    answer(sixth, "fine", null);
    List<ChatReply> out = replies.readValuesToList();
    assertThat(out).extracting(ChatReply::getDroppedTurns).containsExactly(0, 0, 0, 1, 2, 5);
    assertThat(out).extracting(ChatReply::getText).endsWith("fine");
  }

  @Test
  void aRepeatedMessageIdIsAnsweredFromTheStoredReply() {
    start(Map.of());
    ChatMessage m1 = message("acme", "c", "m1", "what shapes are there?", png());
    send(m1);
    send(m1);
    ChatTask task = onlyTask();
    answer(task, "a circle", null);
    send(m1);
    assertThat(tasks.isEmpty()).as("no second generation").isTrue();
    List<ChatReply> out = replies.readValuesToList();
    assertThat(out).hasSize(2);
    assertThat(out.get(1)).isEqualTo(out.get(0));
  }

  @Test
  void aTurnWithoutAReplyFailsClosedAtTheDeadlineAndTheConversationMovesOn() {
    start(Map.of());
    send(message("acme", "c", "m1", "first", png()));
    send(message("acme", "c", "m2", "second", null));
    ChatTask first = onlyTask();
    driver.advanceWallClockTime(Duration.ofMillis(TURN_DEADLINE_MS + 1_000));
    ChatReply failed = replies.readValue();
    assertThat(failed.getMessageId()).isEqualTo("m1");
    assertThat(failed.getTurn()).isEqualTo(1);
    assertThat(failed.getFailure().getReasonCode()).isEqualTo(ConversationProcessor.DEADLINE);
    ChatTask second = onlyTask();
    assertThat(second.getTurn()).isEqualTo(2);
    assertThat(second.getHistory()).as("a failed turn is not history").isEmpty();
    answer(first, "too late", null);
    assertThat(replies.isEmpty()).as("a late reply to a failed turn is dropped").isTrue();
    answer(second, "ok", null);
    assertThat(replies.readValue().getTurn()).isEqualTo(2);
  }

  @Test
  void aWorkerFailureIsTheTurnsReplyAndTheNextTurnGoesOn() {
    start(Map.of());
    send(message("acme", "c", "m1", "first", png()));
    send(message("acme", "c", "m2", "second", null));
    answer(onlyTask(), null, new TaskFailure("MODEL_ERROR", "boom", "model"));
    assertThat(replies.readValue().getFailure().getReasonCode()).isEqualTo("MODEL_ERROR");
    assertThat(onlyTask().getTurn()).isEqualTo(2);
  }

  @Test
  void anImageSwitchIsUsedFromItsTurnOnAndTheOldBytesAreReleased() {
    start(Map.of());
    byte[] other = EnrichmentTopologyTest.png(20, 20, 0x0000FF);
    send(message("acme", "c", "m1", "first", png()));
    send(message("acme", "c", "m2", "second", new InlineImage(ByteBuffer.wrap(other))));
    ChatTask first = onlyTask();
    answer(first, "one", null);
    ChatTask second = onlyTask();
    assertThat(second.getSource()).isEqualTo(new InlineImage(ByteBuffer.wrap(other)));
    assertThat(second.getContentHash()).isEqualTo(ImageSourceValidator.sha256(other));
    KeyValueStore<String, byte[]> images = driver.getKeyValueStore(ConversationTopology.IMAGE_STORE);
    assertThat(images.get("acme/c#" + ImageSourceValidator.sha256(PNG))).isNull();
    assertThat(images.get("acme/c#" + ImageSourceValidator.sha256(other))).isEqualTo(other);
    KeyValueStore<String, ConversationState> state = driver.getKeyValueStore(ConversationTopology.CONVERSATION_STORE);
    assertThat(state.get("acme/c").getImage().getContentHash()).isEqualTo(ImageSourceValidator.sha256(other));
  }

  @Test
  void badMessagesAreDeadLetteredWithAReasonAndOthersGoOn() {
    start(Map.of("mmstream.chat.max-message-chars", "50", "mmstream.chat.max-waiting", "1"));
    send(message("acme", "new", "m1", "no image on the first message", null));
    send("globex/c", message("acme", "c", "m2", "tenant in the key differs", png()));
    send("acme/other", message("acme", "c", "m3", "conversation in the key differs", png()));
    send(message("acme", "c", "m4", "y".repeat(51), png()));
    send(message("acme", "c", "m5", "hostile address", new ImageUri("http://169.254.169.254/latest/meta-data")));
    send(message("acme", "c", "m6", "not an image", new InlineImage(ByteBuffer.wrap(new byte[] {1, 2, 3}))));
    send(message("nobody", "c", "m7", "unknown tenant", png()));
    send(message("acme", "c", "", "no message id", png()));
    messages.pipeInput("acme/c".getBytes(StandardCharsets.UTF_8), new byte[] {0x42, 0x42, 0x42});
    send(message("acme", "c", "ok1", "fine", png()));
    send(message("acme", "c", "ok2", "waits", null));
    send(message("acme", "c", "busy", "one too many waiting", null));
    List<DeadLetter> letters = dlq.readValuesToList();
    assertThat(letters).extracting(DeadLetter::getReasonCode).containsExactly(
        ConversationProcessor.UNKNOWN_CONVERSATION, ConversationProcessor.TENANT_MISMATCH,
        ConversationProcessor.KEY_MISMATCH, ChatMessageValidator.MESSAGE_TOO_LONG, ImageRejectedException.FORBIDDEN_ADDRESS,
        ImageRejectedException.NOT_AN_IMAGE, ImageEventValidator.UNKNOWN_TENANT, ImageEventValidator.MISSING_ID, MessageDecodeException.BAD_HEADER, ConversationProcessor.CONVERSATION_BUSY);
    assertThat(letters).allSatisfy(l -> assertThat(l.getMessage()).isNotBlank());
    assertThat(letters.get(0).getEventId()).isEqualTo("m1");
    assertThat(letters.get(1).getOriginalTopic()).isEqualTo(Topics.CHAT);
    assertThat(onlyTask().getMessageId()).isEqualTo("ok1");
  }
}

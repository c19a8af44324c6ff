package io.mmstream.stream;

import io.mmstream.schema.ChatMessage;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.ConversationImage;
import io.mmstream.schema.ConversationState;
import io.mmstream.schema.ConversationTurn;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskFailure;
import io.mmstream.schema.Timings;
import io.mmstream.schema.TurnInFlight;
import io.mmstream.schema.WaitingMessage;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps every conversation's state and answers its turns in order. A message (from {@code mm.chat.v1}) is
 * validated, joins its conversation's waiting list and is routed as a ChatTask with the history so far only when no
 * other turn of the conversation is in flight; the worker's reply (from {@code mm.chat.results.v1}) is joined to the
 * turn in flight, written to {@code mm.chat.replies.v1}, added to the history (trimmed to the limits, oldest first)
 * and the next waiting message is routed. A turn without a reply by its deadline fails closed with a failure reply.
 * A message id seen before is answered from the stored reply. Both sources are keyed tenant/conversationId, so a
 * conversation's messages, replies and state share one partition.
 */
final class ConversationProcessor implements Processor<byte[], byte[], String, SpecificRecord> {

  static final String KEY_MISMATCH = "KEY_MISMATCH";
  static final String TENANT_MISMATCH = "TENANT_MISMATCH";
  static final String UNKNOWN_CONVERSATION = "UNKNOWN_CONVERSATION";
  static final String CONVERSATION_BUSY = "CONVERSATION_BUSY";
  static final String MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE";
  static final String DEADLINE = "DEADLINE";

  /** The limits and timing this processor works to, from {@link ConversationSettings}. */
  record Limits(int maxHistoryTurns, int maxHistoryChars, int maxWaiting, int dedupeReplies, int maxMessageBytes,
      long turnDeadlineMs, long checkIntervalMs) {}

  private final ChatMessageValidator validator;
  private final AvroSerde<ChatMessage> messages;
  private final AvroSerde<ChatReply> replies;
  private final DeadLetters deadLetters;
  private final ConversationMetrics metrics;
  private final Limits limits;
  private final String application;
  private ProcessorContext<String, SpecificRecord> context;
  private KeyValueStore<String, ConversationState> conversations;
  private KeyValueStore<String, byte[]> images;
  private KeyValueStore<String, String> deadlines;

  ConversationProcessor(ChatMessageValidator validator, AvroSerde<ChatMessage> messages, AvroSerde<ChatReply> replies,
      DeadLetters deadLetters, ConversationMetrics metrics, Limits limits, String application) {
    this.validator = validator;
    this.messages = messages;
    this.replies = replies;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.limits = limits;
    this.application = application;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    this.conversations = context.getStateStore(ConversationTopology.CONVERSATION_STORE);
    this.images = context.getStateStore(ConversationTopology.IMAGE_STORE);
    this.deadlines = context.getStateStore(ConversationTopology.DEADLINE_STORE);
    context.schedule(Duration.ofMillis(limits.checkIntervalMs()), PunctuationType.WALL_CLOCK_TIME, this::failOverdueTurns);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    String topic = context.recordMetadata().map(RecordMetadata::topic).orElse(Topics.CHAT);
    if (topic.equals(Topics.CHAT_RESULTS)) {
      onWorkerReply(record);
    } else {
      onMessage(record);
    }
  }

  private void onMessage(Record<byte[], byte[]> record) {
    metrics.recordMessage();
    String recordKey = DeadLetters.originalKeyText(record);
    if (record.value() != null && record.value().length > limits.maxMessageBytes()) {
      deadLetter(record, recordKey, DeadLetters.STAGE_DESERIALIZE, MESSAGE_TOO_LARGE, "record of "
          + record.value().length + " bytes, over mmstream.chat.max-message-bytes=" + limits.maxMessageBytes(), null, null);
      return;
    }
    ChatMessage message;
    try {
      message = messages.decode(record.value());
    } catch (MessageDecodeException e) {
      context.forward(record.withKey(recordKey).withValue(deadLetters.undecodable(context, record, e)),
          ConversationTopology.DLQ_SINK);
      return;
    }
    ChatMessageValidator.Outcome outcome = validator.validate(message);
    if (outcome instanceof ChatMessageValidator.Invalid invalid) {
      deadLetter(record, recordKey, DeadLetters.STAGE_VALIDATE, invalid.reasonCode(), invalid.message(),
          message.getMessageId(), message.getTenant());
      return;
    }
    String key = conversationKey(message.getTenant(), message.getConversationId());
    if (!key.equals(recordKey)) {
      boolean otherTenant = recordKey == null || !recordKey.startsWith(message.getTenant() + "/");
      deadLetter(record, recordKey, DeadLetters.STAGE_VALIDATE, otherTenant ? TENANT_MISMATCH : KEY_MISMATCH,
          "record key '" + TenantValidator.abbreviate(recordKey) + "' is not the message's tenant/conversationId '"
              + TenantValidator.abbreviate(key) + "'", message.getMessageId(), message.getTenant());
      return;
    }
    ConversationState state = conversations.get(key);
    if (state != null && answerRepeated(state, key, message.getMessageId())) {
      return;
    }
    if (message.getImage() == null && (state == null || state.getImage() == null)) {
      deadLetter(record, recordKey, DeadLetters.STAGE_VALIDATE, UNKNOWN_CONVERSATION, "conversation '"
          + TenantValidator.abbreviate(message.getConversationId()) + "' has no image yet: its first message must carry"
          + " one", message.getMessageId(), message.getTenant());
      return;
    }
    if (state == null) {
      state = ConversationState.newBuilder().setTenant(message.getTenant())
          .setConversationId(message.getConversationId()).build();
    }
    if (state.getWaiting().size() >= limits.maxWaiting()) {
      deadLetter(record, recordKey, DeadLetters.STAGE_VALIDATE, CONVERSATION_BUSY, state.getWaiting().size()
          + " messages already wait, mmstream.chat.max-waiting=" + limits.maxWaiting(), message.getMessageId(),
          message.getTenant());
      return;
    }
    ConversationImage image = null;
    if (message.getImage() != null) {
      String hash = ((ChatMessageValidator.Valid) outcome).contentHash();
      String uri = message.getImage() instanceof ImageUri u ? u.getUri() : null;
      image = new ConversationImage(hash, uri, message.getContentType());
      if (message.getImage() instanceof InlineImage inline) {
        ByteBuffer data = inline.getData().duplicate();
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        images.put(imageKey(key, hash), bytes);
      }
    }
    state.getWaiting().add(new WaitingMessage(message.getMessageId(), message.getText(), image, message.getModel(),
        message.getMessageTime()));
    routeNext(state, key);
    conversations.put(key, state);
  }

  /** A message id seen before: its stored reply is sent again; one still waiting or in flight is answered once. */
  private boolean answerRepeated(ConversationState state, String key, String messageId) {
    for (ChatReply stored : state.getReplies()) {
      if (stored.getMessageId().equals(messageId)) {
        metrics.recordReply("repeated");
        forward(key, stored, ConversationTopology.REPLIES_SINK);
        return true;
      }
    }
    boolean pending = state.getInFlight() != null && state.getInFlight().getMessage().getMessageId().equals(messageId)
        || state.getWaiting().stream().anyMatch(w -> w.getMessageId().equals(messageId));
    if (pending) {
      metrics.recordJoin("pending_repeat");
    }
    return pending;
  }

  private void onWorkerReply(Record<byte[], byte[]> record) {
    ChatReply reply;
    try {
      reply = replies.decode(record.value());
    } catch (MessageDecodeException e) {
      context.forward(record.withKey(DeadLetters.originalKeyText(record))
          .withValue(deadLetters.undecodable(context, record, e)), ConversationTopology.DLQ_SINK);
      return;
    }
    String key = conversationKey(reply.getTenant(), reply.getConversationId());
    ConversationState state = conversations.get(key);
    TurnInFlight inFlight = state == null ? null : state.getInFlight();
    if (inFlight == null || !inFlight.getMessage().getMessageId().equals(reply.getMessageId())) {
      // A reply after its turn failed at the deadline: the conversation has moved on without it.
      metrics.recordJoin("stale");
      return;
    }
    metrics.recordReply(reply.getFailure() == null ? "answered" : "failed");
    finishTurn(state, key, reply);
    conversations.put(key, state);
  }

  /** Joins the reply to the turn in flight, writes it, keeps it for repeats, extends the history, routes the next message. */
  private void finishTurn(ConversationState state, String key, ChatReply reply) {
    TurnInFlight inFlight = state.getInFlight();
    deadlines.delete(deadlineKey(inFlight.getDeadline().toEpochMilli(), key));
    ChatReply joined = ChatReply.newBuilder(reply)
        .setTurn(inFlight.getTurn())
        .setDroppedTurns(state.getDroppedTurns() + reply.getDroppedTurns())
        .build();
    if (reply.getFailure() == null) {
      state.getTurns().add(new ConversationTurn(inFlight.getMessage().getText(), reply.getText()));
      trimHistory(state);
    }
    List<ChatReply> kept = state.getReplies();
    kept.add(joined);
    while (kept.size() > limits.dedupeReplies()) {
      kept.remove(0);
    }
    state.setInFlight(null);
    state.setNextTurn(state.getNextTurn() + 1);
    forward(key, joined, ConversationTopology.REPLIES_SINK);
    routeNext(state, key);
  }

  /** Drops the oldest turns until the history is within the turn and character limits. */
  private void trimHistory(ConversationState state) {
    List<ConversationTurn> turns = state.getTurns();
    int chars = turns.stream().mapToInt(t -> t.getUser().length() + t.getAssistant().length()).sum();
    while (!turns.isEmpty() && (turns.size() > limits.maxHistoryTurns() || chars > limits.maxHistoryChars())) {
      ConversationTurn oldest = turns.remove(0);
      chars -= oldest.getUser().length() + oldest.getAssistant().length();
      state.setDroppedTurns(state.getDroppedTurns() + 1);
    }
  }

  /** Routes the first waiting message as a ChatTask when no turn is in flight. */
  private void routeNext(ConversationState state, String key) {
    if (state.getInFlight() != null || state.getWaiting().isEmpty()) {
      return;
    }
    WaitingMessage next = state.getWaiting().remove(0);
    if (next.getImage() != null && !next.getImage().equals(state.getImage())) {
      ConversationImage previous = state.getImage();
      state.setImage(next.getImage());
      releaseImage(state, key, previous);
    }
    long now = context.currentSystemTimeMs();
    long deadline = now + limits.turnDeadlineMs();
    ConversationImage image = state.getImage();
    ChatTask task = ChatTask.newBuilder()
        .setTenant(state.getTenant())
        .setConversationId(state.getConversationId())
        .setMessageId(next.getMessageId())
        .setTurn(state.getNextTurn())
        .setSource(image.getUri() != null ? new ImageUri(image.getUri()) : new InlineImage(ByteBuffer.wrap(storedBytes(key, image))))
        .setContentType(image.getContentType())
        .setContentHash(image.getContentHash())
        .setPrompt(next.getText())
        .setHistory(new ArrayList<>(state.getTurns()))
        .setModel(next.getModel())
        .setMessageTime(next.getMessageTime())
        .setDeadline(Instant.ofEpochMilli(deadline))
        .build();
    state.setInFlight(new TurnInFlight(next, state.getNextTurn(), Instant.ofEpochMilli(deadline)));
    deadlines.put(deadlineKey(deadline, key), next.getMessageId());
    forward(key, task, ConversationTopology.TASKS_SINK);
  }

  private byte[] storedBytes(String key, ConversationImage image) {
    byte[] bytes = images.get(imageKey(key, image.getContentHash()));
    if (bytes == null) {
      throw new IllegalStateException("image " + image.getContentHash() + " of conversation " + key + " is not stored");
    }
    return bytes;
  }

  /** Deletes an inline image the conversation switched away from, unless a waiting message still uses it. */
  private void releaseImage(ConversationState state, String key, ConversationImage previous) {
    if (previous == null || previous.getUri() != null
        || previous.getContentHash().equals(state.getImage().getContentHash())
        || state.getWaiting().stream().anyMatch(w -> w.getImage() != null
            && w.getImage().getContentHash().equals(previous.getContentHash()))) {
      return;
    }
    images.delete(imageKey(key, previous.getContentHash()));
  }

  /** Fails every turn past its deadline with a failure reply, so its conversation moves on. */
  private void failOverdueTurns(long now) {
    List<KeyValue<String, String>> overdue = new ArrayList<>();
    try (KeyValueIterator<String, String> it = deadlines.all()) {
      while (it.hasNext()) {
        KeyValue<String, String> entry = it.next();
        if (deadlineOf(entry.key) > now) {
          break;
        }
        overdue.add(entry);
      }
    }
    for (KeyValue<String, String> entry : overdue) {
      String key = conversationOf(entry.key);
      ConversationState state = conversations.get(key);
      TurnInFlight inFlight = state == null ? null : state.getInFlight();
      if (inFlight == null || !inFlight.getMessage().getMessageId().equals(entry.value)) {
        deadlines.delete(entry.key);
        continue;
      }
      WaitingMessage message = inFlight.getMessage();
      ChatReply failure = ChatReply.newBuilder()
          .setTenant(state.getTenant())
          .setConversationId(state.getConversationId())
          .setMessageId(message.getMessageId())
          .setTurn(inFlight.getTurn())
          .setModel(new ModelInfo(message.getModel() == null ? "" : message.getModel(), ""))
          .setFailure(new TaskFailure(DEADLINE, "no reply within mmstream.chat.turn-deadline-ms="
              + limits.turnDeadlineMs(), "deadline"))
          .setTimings(Timings.newBuilder().setTotalMs(Math.max(0, now - message.getMessageTime().toEpochMilli())).build())
          .setWorkerId(application)
          .setBatchSize(0)
          .setProducedAt(Instant.ofEpochMilli(now))
          .build();
      metrics.recordReply("deadline");
      finishTurn(state, key, failure);
      conversations.put(key, state);
    }
  }

  private void forward(String key, SpecificRecord value, String sink) {
    context.forward(new Record<>(key, value, context.currentSystemTimeMs()), sink);
  }

  private void deadLetter(Record<byte[], byte[]> record, String key, String stage, String reason, String message,
      String messageId, String tenant) {
    context.forward(record.withKey(key).withValue(deadLetters.of(context, record, stage, reason, message, messageId,
        tenant, null)), ConversationTopology.DLQ_SINK);
  }

  /** The key of chat messages, tasks, replies and state: tenant/conversationId (tenant ids hold no '/'). */
  static String conversationKey(String tenant, String conversationId) {
    return tenant + "/" + conversationId;
  }

  private static String imageKey(String conversationKey, String contentHash) {
    return conversationKey + "#" + contentHash;
  }

  /** Deadline store keys sort by deadline: 19 zero-padded digits, '|', the conversation key. */
  private static String deadlineKey(long deadline, String conversationKey) {
    return String.format("%019d|%s", deadline, conversationKey);
  }

  private static long deadlineOf(String deadlineKey) {
    return Long.parseLong(deadlineKey.substring(0, 19));
  }

  private static String conversationOf(String deadlineKey) {
    return deadlineKey.substring(20);
  }
}

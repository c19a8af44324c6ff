package io.mmstream.stream;

import io.mmstream.config.Settings;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * Conversations as one topology: multi-turn visual chat whose history the stream app keeps.
 *
 * <p>Reads {@code mm.chat.v1} (ChatMessage, keyed tenant/conversationId) and {@code mm.chat.results.v1} (ChatReply
 * from the chat workers, keyed the same). Writes {@code mm.tasks.chat.v1} (one ChatTask per turn, with the history),
 * {@code mm.chat.replies.v1} (the joined ChatReply, exactly once per message and in each conversation's order) and
 * {@code mm.dlq.v1}. State: {@value #CONVERSATION_STORE} (per conversation), {@value #IMAGE_STORE} (inline image
 * bytes per conversation and content hash) and {@value #DEADLINE_STORE} (turns in flight by deadline), each backed
 * by a compacted changelog. Sources read raw bytes so an undecodable record becomes a dead letter in the same
 * exactly-once transaction as everything else.
 */
public final class ConversationTopology {

  public static final String CONVERSATION_STORE = "conversations";
  public static final String IMAGE_STORE = "conversation-images";
  public static final String DEADLINE_STORE = "chat-turn-deadlines";

  static final String MESSAGES_SOURCE = "chat-messages-source";
  static final String RESULTS_SOURCE = "chat-results-source";
  static final String CONVERSATIONS = "conversations";
  static final String TASKS_SINK = "chat-tasks-sink";
  static final String REPLIES_SINK = "chat-replies-sink";
  static final String DLQ_SINK = "chat-dlq-sink";

  private final Settings settings;
  private final AvroSerdes serdes;
  private final StreamMetrics metrics;

  /** @param metrics the registry its meters go to, and the dead-letter counts shared with the enrichment */
  public ConversationTopology(Settings settings, AvroSerdes serdes, StreamMetrics metrics) {
    this.settings = settings;
    this.serdes = serdes;
    this.metrics = metrics;
  }

  public Topology build() {
    return addTo(new Topology());
  }

  /** Adds the conversation nodes and stores to {@code t} (the stream app runs them beside the enrichment). */
  public Topology addTo(Topology t) {
    String application = settings.get(StreamSettings.APPLICATION_ID);
    DeadLetters deadLetters = new DeadLetters(application, metrics, settings.get(StreamSettings.DLQ_ORIGINAL_MAX_BYTES));
    ChatMessageValidator validator = new ChatMessageValidator(settings);
    ConversationMetrics conversationMetrics = new ConversationMetrics(metrics.registry());
    ConversationProcessor.Limits limits = new ConversationProcessor.Limits(
        settings.get(ConversationSettings.MAX_HISTORY_TURNS), settings.get(ConversationSettings.MAX_HISTORY_CHARS),
        settings.get(ConversationSettings.MAX_WAITING), settings.get(ConversationSettings.DEDUPE_REPLIES),
        settings.get(ConversationSettings.MAX_MESSAGE_BYTES), settings.get(ConversationSettings.TURN_DEADLINE_MS),
        settings.get(ConversationSettings.CHECK_INTERVAL_MS));
    StringSerializer keys = new StringSerializer();
    ByteArrayDeserializer raw = new ByteArrayDeserializer();

    t.addSource(MESSAGES_SOURCE, raw, raw, Topics.CHAT);
    t.addSource(RESULTS_SOURCE, raw, raw, Topics.CHAT_RESULTS);
    t.addProcessor(CONVERSATIONS, () -> new ConversationProcessor(validator, serdes.chatMessage(), serdes.chatReply(),
        deadLetters, conversationMetrics, limits, application), MESSAGES_SOURCE, RESULTS_SOURCE);
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(CONVERSATION_STORE), Serdes.String(),
        serdes.conversationState()), CONVERSATIONS);
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(IMAGE_STORE), Serdes.String(),
        Serdes.ByteArray()), CONVERSATIONS);
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(DEADLINE_STORE), Serdes.String(),
        Serdes.String()), CONVERSATIONS);
    t.addSink(TASKS_SINK, Topics.TASKS_CHAT, keys, EnrichmentTopology.anyRecord(serdes.chatTask()), CONVERSATIONS);
    t.addSink(REPLIES_SINK, Topics.CHAT_REPLIES, keys, EnrichmentTopology.anyRecord(serdes.chatReply()), CONVERSATIONS);
    t.addSink(DLQ_SINK, Topics.DLQ, keys, EnrichmentTopology.anyRecord(serdes.deadLetter()), CONVERSATIONS);
    return t;
  }
}

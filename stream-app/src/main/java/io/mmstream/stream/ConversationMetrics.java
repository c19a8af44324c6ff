package io.mmstream.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mmstream.topic.Topics;
import java.util.List;

/**
 * The conversation topology's meters, {@code mmstream_stream_chat_*} in Prometheus form: messages read, replies
 * emitted by outcome, and join events that are no failure. Counted when processed, like {@link StreamMetrics}.
 */
final class ConversationMetrics {
  /** Every reply outcome, registered at start so dashboards see the series before the first reply. */
  private static final List<String> OUTCOMES = List.of("answered", "failed", "deadline", "repeated");
  private static final List<String> JOIN_EVENTS = List.of("stale", "pending_repeat");

  private final MeterRegistry registry;
  private final Counter messages;

  ConversationMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.messages = Counter.builder("mmstream.stream.chat.messages")
        .description("Chat messages read from " + Topics.CHAT)
        .register(registry);
    OUTCOMES.forEach(this::replies);
    JOIN_EVENTS.forEach(this::joinEvents);
  }

  void recordMessage() {
    messages.increment();
  }

  /** answered (the model's text), failed (the worker's failure), deadline (no reply in time), repeated (a stored reply re-sent). */
  void recordReply(String outcome) {
    replies(outcome).increment();
  }

  private Counter replies(String outcome) {
    return Counter.builder("mmstream.stream.chat.replies")
        .description("Chat replies written to " + Topics.CHAT_REPLIES + ", by outcome (answered, failed, deadline,"
            + " repeated: a message id seen before, answered from the stored reply)")
        .tag("outcome", outcome)
        .register(registry);
  }

  /** stale (a worker reply for a turn no longer in flight), pending_repeat (a repeated message still waiting). */
  void recordJoin(String event) {
    joinEvents(event).increment();
  }

  private Counter joinEvents(String event) {
    return Counter.builder("mmstream.stream.chat.join.events")
        .description("Conversation join events that are no failure: stale (a reply for a turn no longer in flight),"
            + " pending_repeat (a message id repeated while it waits or is answered)")
        .tag("event", event)
        .register(registry);
  }
}

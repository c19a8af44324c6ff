package io.mmstream.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mmstream.topic.Topics;

/**
 * The conversation topology's meters, {@code mmstream_stream_chat_*} in Prometheus form: messages read, replies
 * emitted by outcome, and join events that are no failure. Counted when processed, like {@link StreamMetrics}.
 */
final class ConversationMetrics {
  private final MeterRegistry registry;
  private final Counter messages;

  ConversationMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.messages = Counter.builder("mmstream.stream.chat.messages")
        .description("Chat messages read from " + Topics.CHAT)
        .register(registry);
  }

  void recordMessage() {
    messages.increment();
  }

  /** answered (the model's text), failed (the worker's failure), deadline (no reply in time), repeated (a stored reply re-sent). */
  void recordReply(String outcome) {
    Counter.builder("mmstream.stream.chat.replies")
        .description("Chat replies written to " + Topics.CHAT_REPLIES + ", by outcome (answered, failed, deadline,"
            + " repeated: a message id seen before, answered from the stored reply)")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /** stale (a worker reply for a turn no longer in flight), pending_repeat (a repeated message still waiting). */
  void recordJoin(String event) {
    Counter.builder("mmstream.stream.chat.join.events")
        .description("Conversation join events that are no failure: stale (a reply for a turn no longer in flight),"
            + " pending_repeat (a message id repeated while it waits or is answered)")
        .tag("event", event)
        .register(registry)
        .increment();
  }
}

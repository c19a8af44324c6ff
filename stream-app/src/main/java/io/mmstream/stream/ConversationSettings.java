package io.mmstream.stream;

import io.mmstream.config.Setting;

/** Settings of the conversation topology: history bounds, waiting messages, replies kept for dedupe, the turn deadline. */
public final class ConversationSettings {
  private ConversationSettings() {}

  public static final Setting<Integer> MAX_HISTORY_TURNS = Setting.integer("mmstream.chat.max-history-turns", 16,
      "Most earlier turns a conversation keeps for the model's history; the oldest are dropped first");
  public static final Setting<Integer> MAX_HISTORY_CHARS = Setting.integer("mmstream.chat.max-history-chars", 8_000,
      "Most characters (user and assistant text) of the kept history; the oldest turns are dropped first");
  public static final Setting<Integer> MAX_MESSAGE_CHARS = Setting.integer("mmstream.chat.max-message-chars", 4_000,
      "Longest chat message text");
  public static final Setting<Integer> MAX_MESSAGE_BYTES = Setting.integer("mmstream.chat.max-message-bytes",
      9 * 1024 * 1024, "Largest ChatMessage record; larger ones are dead-lettered without decoding");
  public static final Setting<Integer> MAX_WAITING = Setting.integer("mmstream.chat.max-waiting", 16,
      "Most messages of one conversation waiting for their turn; more are dead-lettered (CONVERSATION_BUSY)");
  public static final Setting<Integer> DEDUPE_REPLIES = Setting.integer("mmstream.chat.dedupe-replies", 64,
      "Latest replies kept per conversation to answer a repeated message id without generating again");
  public static final Setting<Long> TURN_DEADLINE_MS = Setting.longValue("mmstream.chat.turn-deadline-ms", 120_000,
      "Time a routed turn has to be answered; then it fails closed (a failure reply) and the conversation moves on");
  public static final Setting<Long> CHECK_INTERVAL_MS = Setting.longValue("mmstream.chat.check-interval-ms", 1_000,
      "How often (wall clock) turn deadlines are checked");
}

package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.TaskFailure;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;

/**
 * The chat kind's records: a ChatTask in, a ChatReply out. Dead letters carry the message id as event
 * id and {@code conversationId#turn} as task id.
 */
final class ChatTaskRecords implements TaskRecords<ChatTask, ChatAnswer> {
  private final AvroSerde<ChatTask> tasks;
  private final AvroSerde<ChatReply> replies;

  ChatTaskRecords(AvroSerdes serdes) {
    this.tasks = serdes.chatTask();
    this.replies = serdes.chatReply();
  }

  @Override
  public String recordName() {
    return "ChatTask";
  }

  @Override
  public ChatTask decode(byte[] value) throws MessageDecodeException {
    return tasks.decode(value);
  }

  @Override
  public String misrouted(ChatTask task) {
    return null; // the topic carries one record type; the model check is the adapter's (it knows its name)
  }

  @Override
  public long deadlineMs(ChatTask task) {
    return task.getDeadline().toEpochMilli();
  }

  @Override
  public String taskId(ChatTask task) {
    return task.getConversationId() + "#" + task.getTurn();
  }

  @Override
  public String eventId(ChatTask task) {
    return task.getMessageId();
  }

  @Override
  public String tenant(ChatTask task) {
    return task.getTenant();
  }

  @Override
  public PixelImage loadImage(ChatTask task, ImageLoader loader) throws TaskRejectedException {
    return task.getSource() == null ? null : loader.load(task.getSource(), task.getContentType());
  }

  @Override
  public String resultTopic() {
    return Topics.CHAT_RESULTS;
  }

  @Override
  public byte[] encodeAnswer(ChatTask task, ChatAnswer answer, TaskFailure failure, AnswerContext context) {
    ChatReply.Builder reply = ChatReply.newBuilder()
        .setTenant(task.getTenant())
        .setConversationId(task.getConversationId())
        .setMessageId(task.getMessageId())
        .setTurn(task.getTurn())
        .setModel(context.model())
        .setFailure(failure)
        .setTimings(context.timings())
        .setWorkerId(context.workerId())
        .setBatchSize(context.batchSize())
        .setProducedAt(context.producedAt());
    if (answer != null) {
      reply.setText(answer.text())
          .setDroppedTurns(answer.droppedTurns())
          .setPromptTokens(answer.promptTokens())
          .setGeneratedTokens(answer.generatedTokens());
    }
    return replies.encode(reply.build());
  }
}

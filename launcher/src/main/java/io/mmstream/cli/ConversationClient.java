package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.Settings;
import io.mmstream.schema.ChatMessage;
import io.mmstream.schema.ChatReply;
import io.mmstream.security.AppAcls;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * One conversation over Kafka, as {@code chat --conversation} and the demo hold it: each message goes to
 * {@code mm.chat.v1} and its reply is awaited on {@code mm.chat.replies.v1} (read_committed, from the end of the topic
 * as it was when the client opened). The history lives in the stream app, not here.
 */
public final class ConversationClient implements AutoCloseable {
  private final String tenant;
  private final String conversation;
  private final KafkaProducer<String, ChatMessage> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final AvroSerde<ChatReply> replies;

  private ConversationClient(String tenant, String conversation, KafkaProducer<String, ChatMessage> producer,
      KafkaConsumer<byte[], byte[]> consumer, AvroSerde<ChatReply> replies) {
    this.tenant = tenant;
    this.conversation = conversation;
    this.producer = producer;
    this.consumer = consumer;
    this.replies = replies;
  }

  public static ConversationClient open(Settings settings, String tenant, String conversation) {
    AvroSerdes serdes = AvroSerdes.from(settings);
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
        KafkaClientConfig.consumer(settings, AppAcls.TAIL_GROUP_PREFIX + UUID.randomUUID(), "chat"),
        new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> partitions = consumer.partitionsFor(Topics.CHAT_REPLIES).stream()
        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position); // resolve the end now: a reply written after this is seen
    KafkaProducer<String, ChatMessage> producer = new KafkaProducer<>(KafkaClientConfig.producer(settings, "chat"),
        new StringSerializer(), serdes.chatMessage().serializer());
    return new ConversationClient(tenant, conversation, producer, consumer, serdes.chatReply());
  }

  /**
   * Sends {@code text} ({@code image}: null, or the conversation's image, needed on its first message) and waits for
   * its reply.
   *
   * @throws TimeoutException when no reply came within {@code timeout}
   */
  public ChatReply ask(String text, ImageEvents.ImageSource image, Duration timeout)
      throws TimeoutException, ExecutionException, InterruptedException {
    ChatMessage message = ChatMessages.message(tenant, conversation, text, image);
    producer.send(new ProducerRecord<>(Topics.CHAT, ChatMessages.key(message), message)).get();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
        try {
          ChatReply reply = replies.decode(record.value());
          if (reply.getMessageId().equals(message.getMessageId())) {
            return reply;
          }
        } catch (MessageDecodeException e) {
          // another writer's record; not this conversation's reply
        }
      }
    }
    throw new TimeoutException("no reply to message " + message.getMessageId() + " of " + tenant + "/" + conversation
        + " within " + timeout.toMillis() + " ms (is the stream app running, and a chat worker?)");
  }

  @Override
  public void close() {
    producer.close();
    consumer.close();
  }
}

package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaConnectionCheck;
import io.mmstream.config.Settings;
import io.mmstream.security.AppAcls;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/mmstream tail}: prints the records of an output topic as they arrive (read_committed). */
@Command(name = "tail", mixinStandardHelpOptions = true,
    description = "Print enriched images, moderation decisions, chat replies or dead letters, one per line.")
public final class TailCommand implements Callable<Integer> {

  @Mixin ConfigOptions config;

  @Mixin WireFormatOptions wireFormat;

  @Option(names = "--topic", required = true, description = "enriched, moderation, chat-replies or dlq (or a full topic name).")
  String topic;

  @Option(names = "--json", description = "One JSON object per line.")
  boolean json;

  @Option(names = "--from-latest", description = "Only new records (default: from the beginning).")
  boolean fromLatest;

  @Option(names = "--max", defaultValue = "0", description = "Stop after this many records (0: run until Ctrl-C).")
  int max;

  @Option(names = "--idle-exit-ms", defaultValue = "0", description = "Stop after this long without records (0: never).")
  long idleExitMs;

  @Override
  public Integer call() {
    String name = topicName(topic);
    Settings settings = wireFormat.applyTo(config.settings());
    AvroSerde<? extends SpecificRecord> serde = serdeFor(name, AvroSerdes.from(settings));
    KafkaConnectionCheck.verify(settings, "tail-check");
    Properties props = KafkaClientConfig.consumer(settings, AppAcls.TAIL_GROUP_PREFIX + UUID.randomUUID(), "tail");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromLatest ? "latest" : "earliest");
    int seen = 0;
    long lastRecord = System.currentTimeMillis();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(name));
      while (max == 0 || seen < max) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          lastRecord = System.currentTimeMillis();
          System.out.println(render(serde, r));
          System.out.flush();
          if (max > 0 && ++seen >= max) {
            break;
          }
        }
        if (idleExitMs > 0 && System.currentTimeMillis() - lastRecord > idleExitMs) {
          break;
        }
      }
    }
    return 0;
  }

  private String render(AvroSerde<? extends SpecificRecord> serde, ConsumerRecord<byte[], byte[]> r) {
    try {
      SpecificRecord value = serde.deserializer().deserialize(r.topic(), r.value());
      return json ? RecordText.json(value) : RecordText.line(value);
    } catch (MessageDecodeException e) {
      return "UNDECODABLE " + r.topic() + "-" + r.partition() + "@" + r.offset() + ": " + e.getMessage();
    }
  }

  static String topicName(String shortName) {
    return switch (shortName.toLowerCase(Locale.ROOT)) {
      case "enriched" -> Topics.ENRICHED;
      case "moderation" -> Topics.MODERATION;
      case "dlq" -> Topics.DLQ;
      case "chat-replies" -> Topics.CHAT_REPLIES;
      default -> shortName;
    };
  }

  static AvroSerde<? extends SpecificRecord> serdeFor(String topic, AvroSerdes serdes) {
    return switch (topic) {
      case Topics.ENRICHED -> serdes.enrichedImage();
      case Topics.MODERATION -> serdes.moderationDecision();
      case Topics.DLQ -> serdes.deadLetter();
      case Topics.RESULTS -> serdes.taskResult();
      case Topics.IMAGES -> serdes.imageEvent();
      case Topics.TASKS_TAG, Topics.TASKS_CAPTION, Topics.TASKS_VQA -> serdes.taskRequest();
      case Topics.CHAT_REPLIES, Topics.CHAT_RESULTS -> serdes.chatReply();
      case Topics.CHAT -> serdes.chatMessage();
      case Topics.TASKS_CHAT -> serdes.chatTask();
      default -> throw new IllegalArgumentException("no record type known for topic " + topic);
    };
  }
}

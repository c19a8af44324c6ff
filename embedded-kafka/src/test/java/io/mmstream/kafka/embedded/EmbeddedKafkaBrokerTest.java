package io.mmstream.kafka.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaBrokerTest {

  @Test
  void transactionalWriteIsReadCommitted() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        admin.createTopics(List.of(new NewTopic("t", 1, (short) 1))).all().get();
      }
      Properties p = new Properties();
      p.put("bootstrap.servers", broker.bootstrapServers());
      p.put("transactional.id", "test-tx");
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("t", "k", "committed"));
        producer.commitTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("t", "k", "aborted"));
        producer.abortTransaction();
      }
      Properties c = new Properties();
      c.put("bootstrap.servers", broker.bootstrapServers());
      c.put("group.id", "g");
      c.put("auto.offset.reset", "earliest");
      c.put("isolation.level", "read_committed");
      try (KafkaConsumer<String, String> consumer =
          new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
        consumer.subscribe(List.of("t"));
        List<String> values = new java.util.ArrayList<>();
        long end = System.currentTimeMillis() + 20_000;
        while (values.isEmpty() && System.currentTimeMillis() < end) {
          ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
          records.forEach(r -> values.add(r.value()));
        }
        assertThat(values).containsExactly("committed");
      }
    }
  }
}

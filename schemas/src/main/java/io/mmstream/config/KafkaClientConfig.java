package io.mmstream.config;

import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.SaslConfigs;

/**
 * Kafka client properties built from {@link Settings}: bootstrap servers and every standard security
 * key ({@code kafka.security.protocol}, {@code kafka.sasl.*}, {@code kafka.ssl.*} → the Kafka names),
 * so producers, consumers, admin clients and Kafka Streams all connect the same way.
 */
public final class KafkaClientConfig {
  private KafkaClientConfig() {}

  /** Connection and security properties common to every client. */
  public static Properties common(Settings settings) {
    Properties p = new Properties();
    p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, settings.get(KafkaSettings.BOOTSTRAP_SERVERS));
    p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, settings.get(KafkaSettings.SECURITY_PROTOCOL));
    passThrough(settings, "kafka.sasl.", p);
    passThrough(settings, "kafka.ssl.", p);
    String mechanism = settings.get(KafkaSettings.SASL_MECHANISM);
    if (mechanism == null || mechanism.isBlank()) {
      p.remove(SaslConfigs.SASL_MECHANISM);
    }
    String jaas = settings.get(KafkaSettings.SASL_JAAS_CONFIG);
    if (jaas != null && !jaas.isBlank()) {
      p.put(SaslConfigs.SASL_JAAS_CONFIG, jaas);
    }
    return p;
  }

  /** An idempotent producer that accepts records up to the topics' maximum message size. */
  public static Properties producer(Settings settings, String clientName) {
    Properties p = common(settings);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId(settings, clientName));
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, settings.get(KafkaSettings.MAX_MESSAGE_BYTES));
    return p;
  }

  /** A consumer in {@code groupId} that reads committed data only and fetches the largest records. */
  public static Properties consumer(Settings settings, String groupId, String clientName) {
    Properties p = common(settings);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId(settings, clientName));
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, settings.get(KafkaSettings.MAX_MESSAGE_BYTES));
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return p;
  }

  public static Properties admin(Settings settings, String clientName) {
    Properties p = common(settings);
    p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId(settings, clientName));
    return p;
  }

  private static String clientId(Settings settings, String clientName) {
    return settings.get(KafkaSettings.CLIENT_ID_PREFIX) + "-" + clientName;
  }

  private static void passThrough(Settings settings, String prefix, Properties out) {
    for (Map.Entry<String, String> e : settings.withPrefix(prefix).entrySet()) {
      out.put(e.getKey().substring("kafka.".length()), e.getValue());
    }
  }
}

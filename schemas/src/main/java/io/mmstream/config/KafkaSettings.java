package io.mmstream.config;

/**
 * Connection and security settings shared by every Kafka client of mmstream. Besides these, every
 * {@code kafka.sasl.*} and {@code kafka.ssl.*} key is passed through to the clients unchanged (minus
 * the {@code kafka.} prefix), see {@link KafkaClientConfig}.
 */
public final class KafkaSettings {
  private KafkaSettings() {}

  public static final Setting<String> BOOTSTRAP_SERVERS =
      Setting.string("kafka.bootstrap.servers", "localhost:9092", "Kafka bootstrap servers, host:port[,host:port]");
  public static final Setting<String> SECURITY_PROTOCOL =
      Setting.string("kafka.security.protocol", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
  public static final Setting<String> SASL_MECHANISM =
      Setting.string("kafka.sasl.mechanism", "", "SASL mechanism (PLAIN, SCRAM-SHA-512, OAUTHBEARER); empty: none");
  public static final Setting<String> SASL_JAAS_CONFIG =
      Setting.secret("kafka.sasl.jaas.config",
      "SASL JAAS login line; best from a mounted file named by MMSTREAM_KAFKA_SASL_JAAS_CONFIG_FILE");
  public static final Setting<String> CLIENT_ID_PREFIX =
      Setting.string("kafka.client-id-prefix", "mmstream", "Prefix of every Kafka client.id");
  public static final Setting<Long> CONNECT_CHECK_TIMEOUT_MS = Setting.longValue("kafka.connect-check-timeout-ms", 30_000,
      "How long an app waits at startup for the cluster to answer (authentication and TLS failures end it at once)");
  public static final Setting<Integer> MAX_MESSAGE_BYTES = Setting.integer(
      "mmstream.topics.max-message-bytes", 12 * 1024 * 1024,
      "max.message.bytes of every topic, and the clients' max.request.size / fetch sizes"
          + " (must exceed the inline image limit plus envelope)");
}

package io.mmstream.it;

import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The real Kafka broker an integration test talks to, chosen once per test class: an external
 * cluster when {@code KAFKA_BOOTSTRAP} is set, a Testcontainers Kafka where a Docker engine runs,
 * and otherwise the single-node KRaft broker inside this JVM.
 */
public final class KafkaTestCluster implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaTestCluster.class);
  private static final String KAFKA_IMAGE = "apache/kafka:4.1.0";

  private final String bootstrapServers;
  private final AutoCloseable resource;
  private final String kind;

  private KafkaTestCluster(String bootstrapServers, AutoCloseable resource, String kind) {
    this.bootstrapServers = bootstrapServers;
    this.resource = resource;
    this.kind = kind;
  }

  public static KafkaTestCluster start() {
    String external = System.getenv("KAFKA_BOOTSTRAP");
    KafkaTestCluster cluster;
    if (external != null && !external.isBlank()) {
      cluster = new KafkaTestCluster(external, () -> {}, "external");
    } else if (dockerAvailable()) {
      KafkaContainer container = new KafkaContainer(KAFKA_IMAGE);
      container.start();
      cluster = new KafkaTestCluster(container.getBootstrapServers(), container, "testcontainers");
    } else {
      EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
      cluster = new KafkaTestCluster(broker.bootstrapServers(), broker, "in-JVM KRaft");
    }
    LOG.info("integration tests use the {} broker at {}", cluster.kind, cluster.bootstrapServers);
    return cluster;
  }

  private static boolean dockerAvailable() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** Whether topics must be uniquely named because the cluster outlives this test class. */
  public boolean isShared() {
    return kind.equals("external");
  }

  @Override
  public void close() throws Exception {
    resource.close();
  }
}

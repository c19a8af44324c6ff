package io.mmstream.kafka.embedded;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.apache.kafka.server.common.TransactionVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, broker + controller roles) running inside this JVM.
 *
 * <p>Used by {@code bin/mmstream demo} and the integration tests where no Docker engine exists. The
 * settings below are what a one-node cluster needs: replication factor 1 for internal topics (else
 * transactions and exactly-once Streams never become ready) and a small cleaner buffer (the default
 * takes 128 MiB of heap). Broker threads are not daemons, so callers must {@link #close()} it.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
  private static final String CONTROLLER_LISTENER = "CONTROLLER";

  private final KafkaRaftServer server;
  private final Path logDir;
  private final boolean deleteOnClose;
  private final String bootstrapServers;
  private final Map<String, Integer> listenerPorts;

  private EmbeddedKafkaBroker(
      KafkaRaftServer server, Path logDir, boolean deleteOnClose, String bootstrapServers, Map<String, Integer> ports) {
    this.server = server;
    this.logDir = logDir;
    this.deleteOnClose = deleteOnClose;
    this.bootstrapServers = bootstrapServers;
    this.listenerPorts = ports;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Starts a broker with defaults: a PLAINTEXT listener on a free localhost port, temporary log dir. */
  public static EmbeddedKafkaBroker start() {
    return builder().start();
  }

  /** host:port of the first client listener. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** host:port of the named client listener (e.g. "SASL_SSL"). */
  public String bootstrapServers(String listenerName) {
    Integer port = listenerPorts.get(listenerName);
    if (port == null) {
      throw new IllegalArgumentException("no listener " + listenerName + "; have " + listenerPorts.keySet());
    }
    return "localhost:" + port;
  }

  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
    if (deleteOnClose) {
      deleteRecursively(logDir);
    }
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not delete {}: {}", dir, e.toString());
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Listeners, extra broker properties (security, ACLs) and SCRAM users to create at format time. */
  public static final class Builder {
    private final Map<String, String> listenerProtocols = new LinkedHashMap<>();
    private final Map<String, String> extraProperties = new LinkedHashMap<>();
    private List<String> scramArguments = List.of();
    private String controllerProtocol = "PLAINTEXT";
    private Path logDir;
    private int plaintextPort;

    private Builder() {}

    /** Port of the default PLAINTEXT listener (0 = any free port). */
    public Builder port(int port) {
      this.plaintextPort = port;
      return this;
    }

    /** Adds a client listener named {@code name} with the given security protocol (e.g. SASL_SSL). */
    public Builder listener(String name, String securityProtocol) {
      listenerProtocols.put(name, securityProtocol);
      return this;
    }

    /**
     * Security protocol of the KRaft controller listener (default PLAINTEXT). With an authorizer, the
     * broker's requests to its controller are authorized too: an SSL controller listener with client
     * certificates gives the broker a principal of its own instead of ANONYMOUS.
     */
    public Builder controllerProtocol(String securityProtocol) {
      this.controllerProtocol = securityProtocol;
      return this;
    }

    public Builder property(String key, String value) {
      extraProperties.put(key, value);
      return this;
    }

    /** kafka-storage's --add-scram arguments, e.g. {@code SCRAM-SHA-512=[name=app,password=secret]}. */
    public Builder scramUsers(List<String> arguments) {
      this.scramArguments = List.copyOf(arguments);
      return this;
    }

    /** Keeps data in {@code dir} across restarts instead of a temporary directory. */
    public Builder logDir(Path dir) {
      this.logDir = dir;
      return this;
    }

    public EmbeddedKafkaBroker start() {
      boolean temporary = logDir == null;
      try {
        Path dir = temporary ? Files.createTempDirectory("mmstream-kafka-") : Files.createDirectories(logDir);
        Map<String, Integer> ports = new LinkedHashMap<>();
        Map<String, String> protocols = new LinkedHashMap<>();
        if (listenerProtocols.isEmpty() || plaintextPort != 0) {
          protocols.put("PLAINTEXT", "PLAINTEXT");
        }
        protocols.putAll(listenerProtocols);
        for (String name : protocols.keySet()) {
          ports.put(name, name.equals("PLAINTEXT") && plaintextPort != 0 ? plaintextPort : freePort());
        }
        int controllerPort = freePort();
        StringBuilder listeners = new StringBuilder();
        StringBuilder protocolMap = new StringBuilder(CONTROLLER_LISTENER + ":" + controllerProtocol);
        for (Map.Entry<String, Integer> e : ports.entrySet()) {
          listeners.append(e.getKey()).append("://localhost:").append(e.getValue()).append(',');
          protocolMap.append(',').append(e.getKey()).append(':').append(protocols.get(e.getKey()));
        }
        listeners.append(CONTROLLER_LISTENER).append("://localhost:").append(controllerPort);
        String firstListener = ports.keySet().iterator().next();

        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@localhost:" + controllerPort);
        props.put("controller.listener.names", CONTROLLER_LISTENER);
        props.put("listeners", listeners.toString());
        props.put("advertised.listeners", listeners.substring(0, listeners.lastIndexOf(",")));
        props.put("listener.security.protocol.map", protocolMap.toString());
        props.put("inter.broker.listener.name", firstListener);
        props.put("log.dirs", dir.toString());
        props.put("num.partitions", "1");
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "4");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "4");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("log.cleaner.dedupe.buffer.size", "2097152");
        props.put("auto.create.topics.enable", "false");
        props.putAll(extraProperties);
        KafkaConfig config = KafkaConfig.fromProps(props, false);

        boolean formatted = Files.exists(dir.resolve("meta.properties"));
        if (!formatted) {
          Formatter formatter =
              new Formatter()
                  .setPrintStream(new PrintStream(PrintStream.nullOutputStream()))
                  .setClusterId(Uuid.randomUuid().toString())
                  .setNodeId(1)
                  .setDirectories(List.of(dir.toString()))
                  .setMetadataLogDirectory(dir.toString())
                  .setControllerListenerName(CONTROLLER_LISTENER)
                  .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                  // Transactions v2 adds a partition to a transaction with its first produce; when that produce
                  // arrives before the previous commit's markers are written (a busy machine), the broker refuses
                  // it (CONCURRENT_TRANSACTIONS) and every batch pipelined behind it (OUT_OF_ORDER_SEQUENCE_NUMBER),
                  // and the producer retries them all. With v1 the producer adds partitions first, by a request the
                  // coordinator answers once the previous transaction is complete, and no produce is refused.
                  .setFeatureLevel(TransactionVersion.FEATURE_NAME, TransactionVersion.TV_1.featureLevel())
                  .setScramArguments(scramArguments);
          formatter.run();
        }
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        try {
          server.startup();
        } catch (RuntimeException e) {
          server.shutdown();
          server.awaitShutdown();
          throw e;
        }
        String bootstrap = "localhost:" + ports.get(firstListener);
        LOG.info("embedded Kafka broker ready at {} (log dir {})", bootstrap, dir);
        return new EmbeddedKafkaBroker(server, dir, temporary, bootstrap, ports);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (Exception e) {
        throw new IllegalStateException("embedded Kafka broker failed to start: " + e.getMessage(), e);
      }
    }
  }
}

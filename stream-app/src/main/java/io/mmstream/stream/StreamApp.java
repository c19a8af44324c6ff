package io.mmstream.stream;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaConnectionCheck;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Setting;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageSettings;
import io.mmstream.security.AppAccess;
import io.mmstream.security.AppAcls;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.serde.SchemaSettings;
import io.mmstream.topic.TopicAdmin;
import io.mmstream.topic.TopicSettings;
import io.mmstream.topic.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The enrichment application: {@link #start(Settings)} creates missing topics (when enabled), checks
 * that the join's topics are co-partitioned, and starts Kafka Streams with exactly_once_v2 over the
 * {@link EnrichmentTopology} and the {@link ConversationTopology}; {@link #close()} shuts it down gracefully (commit, leave the group).
 * State lives in RocksDB under the state directory and is restored from changelogs after a restart.
 */
public final class StreamApp implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StreamApp.class);

  /** Every setting this application reads, for the startup dump and the README table. */
  public static final List<Setting<?>> SETTINGS = Setting.declaredIn(KafkaSettings.class, TopicSettings.class,
      SchemaSettings.class, ImageSettings.class, StreamSettings.class, ConversationSettings.class);

  private final KafkaStreams streams;
  private final Duration closeTimeout;

  private StreamApp(KafkaStreams streams, Duration closeTimeout) {
    this.streams = streams;
    this.closeTimeout = closeTimeout;
  }

  /** Starts the application with meters kept in memory only (embedded runs that expose no /metrics). */
  public static StreamApp start(Settings settings) {
    return start(settings, new SimpleMeterRegistry());
  }

  /** Starts the application with its {@link StreamMetrics} registered in {@code registry}. */
  public static StreamApp start(Settings settings, MeterRegistry registry) {
    try (Admin admin = Admin.create(KafkaClientConfig.admin(settings, "stream-admin"))) {
      KafkaConnectionCheck.verify(admin, settings);
      if (settings.get(TopicSettings.AUTO_CREATE)) {
        List<String> created = TopicAdmin.ensureTopics(admin, settings);
        if (!created.isEmpty()) {
          LOG.info("created topics {}", created);
        }
      }
      checkCoPartitioned(admin, Topics.IMAGES_ACCEPTED, Topics.RESULTS);
      checkCoPartitioned(admin, Topics.CHAT, Topics.CHAT_RESULTS);
    }
    StreamMetrics metrics = new StreamMetrics(registry);
    Topology topology = new ConversationTopology(settings, AvroSerdes.from(settings), metrics)
        .addTo(EnrichmentTopology.from(settings, metrics).build());
    KafkaStreams streams = new KafkaStreams(topology, streamsProperties(settings));
    streams.setUncaughtExceptionHandler(e -> {
      if (isAccessDenied(e)) {
        // A replaced thread would be refused again, forever: stop and say which permission is missing.
        LOG.error("stream thread failed: Kafka refused access ({}); stopping", rootMessage(e), e);
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      }
      LOG.error("stream thread failed; replacing it (its task restarts from the last commit)", e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    streams.start();
    return new StreamApp(streams, Duration.ofMillis(settings.get(StreamSettings.CLOSE_TIMEOUT_MS)));
  }

  /** The ACLs this app's principal needs with these settings (application.id, topic creation). */
  public static AppAccess access(Settings settings) {
    return AppAcls.streamApp(settings.get(StreamSettings.APPLICATION_ID), settings.get(TopicSettings.AUTO_CREATE));
  }

  private static boolean isAccessDenied(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof AuthorizationException || t instanceof AuthenticationException) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.toString();
  }

  /** Kafka Streams properties: the common client and security settings, exactly_once_v2, state dir, replication. */
  public static Properties streamsProperties(Settings settings) {
    Properties p = KafkaClientConfig.common(settings);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, settings.get(StreamSettings.APPLICATION_ID));
    p.put(StreamsConfig.CLIENT_ID_CONFIG, settings.get(KafkaSettings.CLIENT_ID_PREFIX) + "-stream");
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, settings.get(TopicSettings.REPLICATION_FACTOR));
    p.put(StreamsConfig.STATE_DIR_CONFIG, settings.get(StreamSettings.STATE_DIR));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, settings.get(StreamSettings.THREADS));
    // The join needs no cross-topic timestamp order (a result exists only after its image's tasks were
    // committed), so a task with one empty input processes the other at once instead of idling to fetch it.
    p.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, -1L);
    int maxMessage = settings.get(KafkaSettings.MAX_MESSAGE_BYTES);
    p.put(StreamsConfig.producerPrefix("max.request.size"), maxMessage);
    p.put(StreamsConfig.consumerPrefix("max.partition.fetch.bytes"), maxMessage);
    p.put(StreamsConfig.topicPrefix("max.message.bytes"), maxMessage);
    return p;
  }

  public KafkaStreams streams() {
    return streams;
  }

  /** Waits until the application is RUNNING; false when it did not get there in time. */
  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (System.nanoTime() > deadline || !streams.state().isRunningOrRebalancing()
          && streams.state() != KafkaStreams.State.CREATED) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }

  @Override
  public void close() {
    boolean clean = streams.close(CloseOptions.timeout(closeTimeout)
        .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
    if (!clean) {
      LOG.warn("Kafka Streams did not close within {}", closeTimeout);
    }
  }

  /**
   * Each join shares state between two topics (accepted images and results; chat messages and chat results);
   * unequal partition counts would split an image from its results, a conversation from its replies.
   */
  private static void checkCoPartitioned(Admin admin, String inputs, String results) {
    try {
      Map<String, TopicDescription> d = admin.describeTopics(List.of(inputs, results))
          .allTopicNames().get(30, TimeUnit.SECONDS);
      int inputPartitions = d.get(inputs).partitions().size();
      int resultPartitions = d.get(results).partitions().size();
      if (inputPartitions != resultPartitions) {
        throw new IllegalStateException(inputs + " has " + inputPartitions + " partitions but " + results
            + " has " + resultPartitions + "; the join needs them equal");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while describing topics", e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("cannot describe the join's topics: " + e, e);
    }
  }

  /** Runs until SIGTERM/SIGINT; the optional argument is a properties file (environment overrides it). */
  public static void main(String[] args) throws InterruptedException {
    Settings settings = Settings.load(args.length > 0 ? Path.of(args[0]) : null);
    LOG.info("mmstream stream app settings:\n{}", settings.describe(SETTINGS));
    StreamApp app = start(settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      app.close();
      stopped.countDown();
    }, "mmstream-shutdown"));
    stopped.await();
  }
}

package io.mmstream.cli;

import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.mmstream.config.Settings;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.worker.HealthServer;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code bin/mmstream stream-app}: the enrichment stream application, with /metrics and /health on
 * {@code mmstream.stream.http-port}; runs until SIGTERM/Ctrl-C, then closes gracefully.
 */
@Command(name = "stream-app", mixinStandardHelpOptions = true,
    description = "Run the enrichment stream application (validate, route, join, moderate).")
public final class StreamAppCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(StreamAppCommand.class);

  @Mixin ConfigOptions config;

  @Override
  public Integer call() throws Exception {
    Settings settings = config.settings();
    LOG.info("mmstream stream app settings:\n{}", settings.describe(StreamApp.SETTINGS));
    CountDownLatch stopped = new CountDownLatch(1);
    try (RunningStreamApp app = RunningStreamApp.start(settings)) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        app.close();
        stopped.countDown();
      }, "mmstream-stream-shutdown"));
      stopped.await();
    }
    return 0;
  }

  /** The stream app with its metrics registry and health endpoints; also used by the demo and the scrape test. */
  public static final class RunningStreamApp implements AutoCloseable {
    private final StreamApp app;
    private final PrometheusMeterRegistry registry;
    private final KafkaStreamsMetrics streamsMetrics;
    private final HealthServer health;

    private RunningStreamApp(StreamApp app, PrometheusMeterRegistry registry, KafkaStreamsMetrics streamsMetrics,
        HealthServer health) {
      this.app = app;
      this.registry = registry;
      this.streamsMetrics = streamsMetrics;
      this.health = health;
    }

    public static RunningStreamApp start(Settings settings) {
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      new JvmMemoryMetrics().bindTo(registry);
      StreamApp app = StreamApp.start(settings, registry);
      KafkaStreamsMetrics streamsMetrics = new KafkaStreamsMetrics(app.streams());
      streamsMetrics.bindTo(registry);
      int port = settings.get(StreamSettings.HTTP_PORT);
      HealthServer health = port < 0 ? null : new HealthServer(port, registry::scrape,
          () -> app.streams().state().isRunningOrRebalancing(),
          () -> app.streams().state() == KafkaStreams.State.RUNNING);
      if (health != null) {
        LOG.info("stream app: /metrics and /health on port {}", health.port());
      }
      return new RunningStreamApp(app, registry, streamsMetrics, health);
    }

    public StreamApp app() {
      return app;
    }

    PrometheusMeterRegistry registry() {
      return registry;
    }

    /** Port of /metrics and /health/*, or -1 when the HTTP server is off. */
    public int httpPort() {
      return health == null ? -1 : health.port();
    }

    @Override
    public void close() {
      if (health != null) {
        health.close();
      }
      app.close();
      streamsMetrics.close();
      registry.close();
    }
  }
}

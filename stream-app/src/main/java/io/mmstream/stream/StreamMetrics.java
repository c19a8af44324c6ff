package io.mmstream.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.topic.Topics;
import java.time.Duration;

/**
 * The stream application's own meters, named {@code mmstream_stream_*} in Prometheus form: images received,
 * enriched images emitted (complete or partial), dead letters by stage and reason, and the end-to-end latency
 * from an event's eventTime to its enrichment. Counted when processed: a task that is retried after an aborted
 * transaction counts its records again, so rates can run slightly above the committed output.
 */
public final class StreamMetrics {
  private final MeterRegistry registry;
  private final Counter images;
  private final Counter enrichedComplete;
  private final Counter enrichedPartial;
  private final Timer endToEndLatency;

  public StreamMetrics(MeterRegistry registry) {
    this.registry = registry;
    images = Counter.builder("mmstream.stream.images")
        .description("Image events read from " + Topics.IMAGES)
        .register(registry);
    enrichedComplete = enriched("complete");
    enrichedPartial = enriched("partial");
    endToEndLatency = Timer.builder("mmstream.stream.end.to.end.latency")
        .description("From an image event's eventTime to the emission of its enriched record")
        .publishPercentileHistogram()
        .register(registry);
  }

  /** Meters kept in memory only: for tests and embedded runs that expose no /metrics. */
  public static StreamMetrics unexposed() {
    return new StreamMetrics(new SimpleMeterRegistry());
  }

  public MeterRegistry registry() {
    return registry;
  }

  void recordImage() {
    images.increment();
  }

  void recordEnriched(EnrichedImage enriched) {
    (enriched.getComplete() ? enrichedComplete : enrichedPartial).increment();
    Duration latency = Duration.between(enriched.getEventTime(), enriched.getEnrichedAt());
    endToEndLatency.record(latency.isNegative() ? Duration.ZERO : latency);
  }

  void recordDeadLetter(String stage, String reasonCode) {
    Counter.builder("mmstream.stream.dlq")
        .description("Records sent to the dead-letter topic, by stage and reason")
        .tag("stage", stage)
        .tag("reason", reasonCode)
        .register(registry)
        .increment();
  }

  /** A join event that is no failure: a task re-routed at its deadline, a superseded result, a repost waiting. */
  void recordJoin(String event) {
    Counter.builder("mmstream.stream.join.events")
        .description("Join events: retried (task re-routed at its deadline), superseded (a result of a retried task"
            + " after the other attempt's), repost_waited (same bytes in flight: waited for the first)")
        .tag("event", event)
        .register(registry)
        .increment();
  }

  private Counter enriched(String outcome) {
    return Counter.builder("mmstream.stream.enriched")
        .description("Enriched images emitted, by outcome (complete, partial: deadline passed with tasks missing)")
        .tag("outcome", outcome)
        .register(registry);
  }
}

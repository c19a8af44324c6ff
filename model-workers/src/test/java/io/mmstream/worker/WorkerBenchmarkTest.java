package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The benchmark harness on the fast fixture model; `bench worker` runs it with the real CLIP preset. */
class WorkerBenchmarkTest {

  @Test
  void measuresDirectAndEndToEndThroughputAndLatencyPerLoad() throws Exception {
    List<String> log = new ArrayList<>();
    WorkerBenchmark.Report report;
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      WorkerBenchmark.Options options =
          new WorkerBenchmark.Options(
              ModelKind.CLIP, ModelSource.preset("fixture", null), 4, 40, Duration.ofMillis(500), List.of(0.5, 0.8, 0.95), 64, 48, 2, 2, Map.of());
      report = new WorkerBenchmark(broker.bootstrapServers(), new MeanColourModelFactory(), options, log::add).run();
    }
    assertThat(report.batch()).isEqualTo(4);
    assertThat(report.directItemsPerSecond()).isPositive();
    assertThat(report.endToEndItemsPerSecond()).isPositive();
    assertThat(report.latency()).extracting(WorkerBenchmark.LoadLatency::load).containsExactly(0.5, 0.8, 0.95);
    assertThat(report.latency()).allSatisfy(l -> assertThat(l.p99Ms()).isGreaterThanOrEqualTo(l.p50Ms()).isPositive());
    // Two rounds, the totals, three loads.
    assertThat(log).hasSize(6);

    JsonNode json = new ObjectMapper().readTree(report.toJson());
    assertThat(json.get("batch").asInt()).isEqualTo(4);
    assertThat(json.get("ratio").asDouble())
        .isCloseTo(report.endToEndItemsPerSecond() / report.directItemsPerSecond(), org.assertj.core.api.Assertions.within(0.001));
    assertThat(json.get("latency_ms").fieldNames()).toIterable().containsExactly("0.5", "0.8", "0.95");
    assertThat(json.get("latency_ms").get("0.95").has("p99")).isTrue();
  }
}

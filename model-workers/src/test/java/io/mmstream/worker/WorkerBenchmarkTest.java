package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
              ModelKind.CLIP, ModelSource.preset("fixture", null), 4, 40, Duration.ofMillis(500), List.of(0.5, 0.8, 0.95), 64, 48, 2, 2, 2,
              0.25, Map.of());
      report = new WorkerBenchmark(broker.bootstrapServers(), new MeanColourModelFactory(), options, log::add).run();
    }
    assertThat(report.batch()).isEqualTo(4);
    assertThat(report.runs()).hasSize(2);
    assertThat(report.runs()).allSatisfy(run -> {
      assertThat(run.directItemsPerSecond()).isPositive();
      assertThat(run.endToEndItemsPerSecond()).isPositive();
      assertThat(run.batchMs()).isPositive();
      assertThat(run.latency()).extracting(WorkerBenchmark.LoadLatency::load).containsExactly(0.5, 0.8, 0.95);
      assertThat(run.latency()).allSatisfy(l -> assertThat(l.p99Ms()).isGreaterThanOrEqualTo(l.p50Ms()).isPositive());
      assertThat(run.latency()).allSatisfy(l -> assertThat(l.deviceUtilization()).isPositive().isLessThan(1.05));
    });
    WorkerBenchmark.Spread ratio = report.ratio();
    assertThat(ratio.min()).isLessThanOrEqualTo(ratio.median());
    assertThat(ratio.median()).isLessThanOrEqualTo(ratio.max());
    assertThat(report.goalP99Ms()).isEqualTo(20 + 2 * report.batchMs().median());
    // Per repeat: two rounds, the totals, three loads.
    assertThat(log).hasSize(12);

    // Every answered task passed every stage, so the stages add up to the worker's total.
    Map<String, WorkerBenchmark.StageLatency> stages = report.runs().get(0).latency().get(1).stages();
    assertThat(stages.keySet()).containsSubsequence("fetch", "decode_queue", "preprocess", "device_busy", "batch_fill", "model",
        "commit_wait", "commit", "worker_total", "send_and_read_back", "end_to_end");
    double parts = List.of("decode_queue", "preprocess", "device_busy", "batch_fill", "model", "commit_wait", "commit").stream()
        .mapToDouble(stage -> stages.get(stage).meanMs()).sum();
    assertThat(parts).isCloseTo(stages.get("worker_total").meanMs(), within(0.05 * stages.get("worker_total").meanMs() + 1));
    assertThat(stages.get("model").meanMs()).isPositive();
    assertThat(stages.get("end_to_end").meanMs()).isGreaterThan(stages.get("worker_total").meanMs());

    JsonNode json = new ObjectMapper().readTree(report.toJson());
    assertThat(json.get("batch").asInt()).isEqualTo(4);
    assertThat(json.get("repeats").asInt()).isEqualTo(2);
    assertThat(json.get("ratio").asDouble()).isCloseTo(ratio.median(), within(0.001));
    assertThat(json.get("latency_ms").fieldNames()).toIterable().containsExactly("0.5", "0.8", "0.95");
    assertThat(json.get("latency_ms").get("0.95").has("p99")).isTrue();
    assertThat(json.at("/spread/latency_ms/0.8/p99/max").asDouble()).isGreaterThanOrEqualTo(json.at("/spread/latency_ms/0.8/p99/min").asDouble());
    assertThat(json.at("/breakdown_ms/0.8/model/p99").asDouble()).isPositive();
    assertThat(json.at("/goal/latency").asText()).isIn("met", "missed", "busy");
    assertThat(json.at("/goal/machine_busy").isBoolean()).isTrue();
    assertThat(json.get("runs")).hasSize(2);
    assertThat(report.summary()).anySatisfy(line -> assertThat(line).startsWith("goal: p99 at load 0.80"));
  }
}

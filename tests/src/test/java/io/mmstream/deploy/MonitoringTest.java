package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus rules and the Grafana dashboard under monitoring/ are well formed: alerts carry a severity and a
 * summary, panels have queries, every raw series is an mmstream series or a listed external one, and the rule
 * files pass promtool. That the mmstream series exist with those labels is checked against a scrape of the
 * running apps by {@link MonitoringScrapeTest}.
 */
class MonitoringTest {

    private static final Set<String> SEVERITIES = Set.of("warning", "critical");
    private static final long PROMTOOL_TIMEOUT_SECONDS = 60;

    @Test
    void raw_series_are_mmstream_series_or_listed_external_ones_with_their_labels() {
        List<MonitoringQueries.Use> uses = MonitoringQueries.rawSeriesUses();
        assertThat(uses).isNotEmpty();
        for (MonitoringQueries.Use use : uses) {
            String metric = use.selector().metric();
            Set<String> external = MonitoringQueries.EXTERNAL_SERIES.get(metric);
            if (external == null) {
                assertThat(metric).as(use.where() + ": not an mmstream series nor a listed external one: "
                        + use.expr()).startsWith("mmstream_");
                continue;
            }
            Set<String> allowed = new HashSet<>(external);
            allowed.addAll(AppContract.SCRAPE_TARGET_LABELS);
            assertThat(allowed).as(use.where() + ": labels of " + metric).containsAll(use.selector().labels());
        }
    }

    @Test
    void alerts_carry_a_severity_and_a_summary() {
        List<JsonNode> alerts = MonitoringQueries.rules().stream().filter(r -> r.has("alert")).toList();
        assertThat(alerts).extracting(a -> a.path("alert").asText()).contains("MmstreamConsumerLagGrowing",
                "MmstreamWorkerDeadLetterRateHigh", "MmstreamTaskLatencyP99OverObjective", "MmstreamWorkerNotReady",
                "MmstreamBatchSizeCollapsed");
        for (JsonNode alert : alerts) {
            assertThat(alert.path("labels").path("severity").asText()).as(alert.path("alert").asText())
                    .isIn(SEVERITIES);
            assertThat(alert.path("annotations").path("summary").asText()).as(alert.path("alert").asText())
                    .isNotBlank();
        }
    }

    @Test
    void dashboard_panels_have_unique_ids_and_queries() {
        JsonNode dashboard = MonitoringQueries.dashboard();
        Set<Integer> ids = new HashSet<>();
        int queries = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            assertThat(ids.add(panel.path("id").asInt())).as("unique panel id " + panel.path("id")).isTrue();
            assertThat(panel.path("gridPos").path("w").asInt()).as(panel.path("title").asText()).isPositive();
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            assertThat(panel.path("targets")).as(panel.path("title").asText()).isNotEmpty();
            for (JsonNode target : panel.path("targets")) {
                assertThat(target.path("expr").asText()).as(panel.path("title").asText()).isNotBlank();
                queries++;
            }
        }
        assertThat(queries).isGreaterThanOrEqualTo(10);
    }

    @Test
    void dashboard_covers_throughput_latency_batching_lag_and_dead_letters() {
        List<String> exprs = new ArrayList<>(MonitoringQueries.expressions().values());
        for (String needed : List.of("mmstream:worker_tasks:rate5m", "mmstream:worker_task_latency_seconds:p99_5m",
                "mmstream:stream_end_to_end_latency_seconds:p99_5m", "mmstream:worker_batch_size:avg5m",
                "mmstream:consumergroup_lag:sum", "mmstream:worker_dlq:rate5m", "mmstream:stream_dlq:rate5m")) {
            assertThat(exprs).as("a rule or panel queries " + needed).anyMatch(e -> e.contains(needed));
        }
    }

    @Test
    void rule_files_pass_promtool_check_and_unit_tests() throws Exception {
        assumeTrue(onPath("promtool"), "promtool is not installed (Debian package prometheus); .ci/run installs it "
                + "and runs the same checks before the Maven build");
        List<String> check = new ArrayList<>(List.of("promtool", "check", "rules"));
        MonitoringQueries.ruleFiles().forEach(f -> check.add(f.toString()));
        run(check);
        List<String> unitTests = new ArrayList<>(List.of("promtool", "test", "rules"));
        try (Stream<Path> files = Files.list(MonitoringQueries.PROMETHEUS_DIR.resolve("tests"))) {
            files.filter(f -> f.toString().endsWith(".test.yml")).sorted().forEach(f -> unitTests.add(f.toString()));
        }
        assertThat(unitTests).hasSizeGreaterThan(3);
        run(unitTests);
    }

    private static boolean onPath(String program) {
        return Stream.of(System.getenv("PATH").split(":")).anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(PROMTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish");
        }
        assertThat(p.exitValue()).as(String.join(" ", command) + " printed:\n" + out).isZero();
    }
}

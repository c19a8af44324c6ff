package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus rules and the Grafana dashboard under monitoring/ use only series that the apps and exporters
 * expose (or that the recording rules make), with labels those series carry; the rule files pass promtool.
 */
class MonitoringTest {

    private static final Path PROMETHEUS_DIR = RenderedManifests.REPO_ROOT.resolve("monitoring/prometheus");
    private static final Path DASHBOARD = RenderedManifests.REPO_ROOT.resolve("monitoring/grafana/mmstream-dashboard.json");
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][\\w:]*)\\s*,\\s*(\\w+)\\s*\\)");
    private static final Set<String> SEVERITIES = Set.of("warning", "critical");
    private static final long PROMTOOL_TIMEOUT_SECONDS = 60;

    private static final AppContract CONTRACT = AppContract.load();

    @Test
    void rules_use_only_exposed_series_and_their_labels() throws IOException {
        Map<String, Set<String>> known = knownSeries();
        for (Map.Entry<String, String> rule : ruleExpressions().entrySet()) {
            assertSelectorsKnown(rule.getKey(), rule.getValue(), known);
        }
    }

    @Test
    void alerts_carry_a_severity_and_a_summary() throws IOException {
        List<JsonNode> alerts = rules().stream().filter(r -> r.has("alert")).toList();
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
    void dashboard_panels_query_only_exposed_series_and_their_labels() throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        Map<String, Set<String>> known = knownSeries();
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
                String expr = target.path("expr").asText();
                assertThat(expr).as(panel.path("title").asText()).isNotBlank();
                assertSelectorsKnown("panel " + panel.path("title").asText(), expr, known);
                queries++;
            }
        }
        assertThat(queries).isGreaterThanOrEqualTo(10);
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            Matcher m = LABEL_VALUES.matcher(variable.path("definition").asText());
            if (m.find()) {
                assertThat(known).as("variable " + variable.path("name").asText()).containsKey(m.group(1));
                assertThat(known.get(m.group(1))).as("variable " + variable.path("name").asText())
                        .contains(m.group(2));
            }
        }
    }

    @Test
    void dashboard_covers_throughput_latency_batching_lag_dead_letters_and_device_memory() throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> exprs = new ArrayList<>();
        dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
        for (String needed : List.of("mmstream:worker_items:rate5m", "mmstream:worker_task_latency_seconds:p99_5m",
                "mmstream:worker_batch_size:avg5m", "mmstream:consumergroup_lag:sum", "mmstream:worker_dlq:rate5m",
                "mmstream_worker_device_memory_used_bytes")) {
            assertThat(exprs).as("a panel queries " + needed).anyMatch(e -> e.contains(needed));
        }
    }

    @Test
    void rule_files_pass_promtool_check_and_unit_tests() throws Exception {
        assumeTrue(onPath("promtool"), "promtool is not installed (Debian package prometheus); .ci/run installs it "
                + "and runs the same checks before the Maven build");
        List<String> check = new ArrayList<>(List.of("promtool", "check", "rules"));
        ruleFiles().forEach(f -> check.add(f.toString()));
        run(check);
        List<String> unitTests = new ArrayList<>(List.of("promtool", "test", "rules"));
        try (Stream<Path> files = Files.list(PROMETHEUS_DIR.resolve("tests"))) {
            files.filter(f -> f.toString().endsWith(".test.yml")).sorted().forEach(f -> unitTests.add(f.toString()));
        }
        assertThat(unitTests).hasSizeGreaterThan(3);
        run(unitTests);
    }

    /** Every series a rule or panel may read: what the apps and exporters expose plus what recording rules make. */
    private static Map<String, Set<String>> knownSeries() throws IOException {
        Map<String, Set<String>> known = new LinkedHashMap<>(CONTRACT.exposedSeries());
        for (JsonNode rule : rules()) {
            if (rule.has("record")) {
                known.put(rule.path("record").asText(), null);
            }
        }
        return known;
    }

    /** Checks metric names, and the matcher labels of raw series (recording rules' labels are not tracked). */
    private static void assertSelectorsKnown(String where, String expr, Map<String, Set<String>> known) {
        for (PromQlSelectors.Selector selector : PromQlSelectors.of(expr)) {
            assertThat(known).as(where + ": series " + selector.metric() + " in: " + expr)
                    .containsKey(selector.metric());
            Set<String> labels = known.get(selector.metric());
            if (labels != null) {
                Set<String> allowed = new HashSet<>(labels);
                allowed.addAll(AppContract.SCRAPE_TARGET_LABELS);
                assertThat(allowed).as(where + ": labels of " + selector.metric()).containsAll(selector.labels());
            }
        }
    }

    private static Map<String, String> ruleExpressions() throws IOException {
        Map<String, String> exprs = new LinkedHashMap<>();
        for (JsonNode rule : rules()) {
            exprs.put(rule.has("record") ? "record " + rule.path("record").asText()
                    : "alert " + rule.path("alert").asText(), rule.path("expr").asText());
        }
        return exprs;
    }

    private static List<JsonNode> rules() throws IOException {
        List<JsonNode> rules = new ArrayList<>();
        YAMLMapper yaml = new YAMLMapper();
        for (Path file : ruleFiles()) {
            for (JsonNode group : yaml.readTree(file.toFile()).path("groups")) {
                group.path("rules").forEach(rules::add);
            }
        }
        assertThat(rules).isNotEmpty();
        return rules;
    }

    private static List<Path> ruleFiles() throws IOException {
        try (Stream<Path> files = Files.list(PROMETHEUS_DIR)) {
            return files.filter(f -> f.toString().endsWith(".yml")).sorted().toList();
        }
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

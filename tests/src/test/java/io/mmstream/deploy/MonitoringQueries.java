package io.mmstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What monitoring/ reads: the series selected by every Prometheus rule, Grafana panel and dashboard variable,
 * the series the recording rules make, and the series that come from exporters outside mmstream.
 */
final class MonitoringQueries {

    static final Path PROMETHEUS_DIR = RenderedManifests.REPO_ROOT.resolve("monitoring/prometheus");
    static final Path DASHBOARD = RenderedManifests.REPO_ROOT.resolve("monitoring/grafana/mmstream-dashboard.json");
    private static final Pattern LABEL_VALUES =
            Pattern.compile("label_values\\(\\s*([a-zA-Z_:][\\w:]*)\\s*,\\s*(\\w+)\\s*\\)");

    /**
     * Series that exporters outside mmstream expose, with their labels: consumer lag from Strimzi's Kafka Exporter,
     * Deployment status from kube-state-metrics. The one place such series are listed; everything else a rule or
     * panel reads must show up in a scrape of the running apps.
     */
    static final Map<String, Set<String>> EXTERNAL_SERIES = Map.of(
            "kafka_consumergroup_lag", Set.of("consumergroup", "topic", "partition"),
            "kube_deployment_status_replicas_unavailable", Set.of("deployment"));

    /** One series selector and where it is used. */
    record Use(String where, String expr, PromQlSelectors.Selector selector) {}

    private MonitoringQueries() {}

    /** Every selector of a raw series (not made by a recording rule) in the rules, panels and variables. */
    static List<Use> rawSeriesUses() {
        Set<String> recorded = recordedSeries();
        List<Use> uses = new ArrayList<>();
        expressions().forEach((where, expr) -> PromQlSelectors.of(expr).stream()
                .filter(s -> !recorded.contains(s.metric()))
                .forEach(s -> uses.add(new Use(where, expr, s))));
        for (JsonNode variable : dashboard().path("templating").path("list")) {
            Matcher m = LABEL_VALUES.matcher(variable.path("definition").asText());
            if (m.find() && !recorded.contains(m.group(1))) {
                uses.add(new Use("variable " + variable.path("name").asText(), m.group(0),
                        new PromQlSelectors.Selector(m.group(1), Set.of(m.group(2)))));
            }
        }
        return uses;
    }

    /** Rule and panel expressions by where they are. */
    static Map<String, String> expressions() {
        Map<String, String> exprs = new LinkedHashMap<>();
        for (JsonNode rule : rules()) {
            exprs.put(rule.has("record") ? "record " + rule.path("record").asText()
                    : "alert " + rule.path("alert").asText(), rule.path("expr").asText());
        }
        for (JsonNode panel : dashboard().path("panels")) {
            int i = 0;
            for (JsonNode target : panel.path("targets")) {
                exprs.put("panel " + panel.path("title").asText() + " #" + i++, target.path("expr").asText());
            }
        }
        return exprs;
    }

    static Set<String> recordedSeries() {
        return rules().stream().filter(r -> r.has("record")).map(r -> r.path("record").asText())
                .collect(Collectors.toSet());
    }

    static List<JsonNode> rules() {
        List<JsonNode> rules = new ArrayList<>();
        YAMLMapper yaml = new YAMLMapper();
        try {
            for (Path file : ruleFiles()) {
                for (JsonNode group : yaml.readTree(file.toFile()).path("groups")) {
                    group.path("rules").forEach(rules::add);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rules;
    }

    static List<Path> ruleFiles() throws IOException {
        try (Stream<Path> files = Files.list(PROMETHEUS_DIR)) {
            return files.filter(f -> f.toString().endsWith(".yml")).sorted().toList();
        }
    }

    static JsonNode dashboard() {
        try {
            return new ObjectMapper().readTree(DASHBOARD.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

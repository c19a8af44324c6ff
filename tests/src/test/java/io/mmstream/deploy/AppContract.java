package io.mmstream.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the mmstream apps read and expose, as the deployment and monitoring tests check deploy/k8s and monitoring/
 * against it: setting keys, HTTP endpoints, metric families and topics.
 *
 * <p>The lists come from three files beside this class (setting-keys.txt, metric-names.txt, topics.txt). This
 * class is the one place to change when the tests should read the apps' own settings registry, a /metrics scrape
 * of the running apps, or the apps' topics class instead.
 */
final class AppContract {

    static final String STREAM_APP = "stream-app";
    static final String WORKER = "worker";
    static final Set<String> APPS = Set.of(STREAM_APP, WORKER);
    static final Set<String> WORKER_KINDS = Set.of("clip", "caption", "vqa");

    static final String LIVENESS_PATH = "/health/live";
    static final String READINESS_PATH = "/health/ready";
    static final String METRICS_PATH = "/metrics";
    static final String SETTINGS_DIR = "/etc/mmstream";
    static final String SETTINGS_FILE_NAME = "mmstream.properties";
    static final String ENV_PREFIX = "MMSTREAM_";

    static final String HTTP_PORT_KEY = "mmstream.http.port";
    static final String BOOTSTRAP_KEY = "mmstream.kafka.bootstrap-servers";
    static final String MAX_INLINE_IMAGE_KEY = "mmstream.image.max-inline-bytes";
    static final String WORKER_KIND_KEY = "mmstream.worker.kind";
    static final String WORKER_GROUP_KEY = "mmstream.worker.group-id";
    static final String WORKER_MODEL_DIR_KEY = "mmstream.worker.model-dir";
    static final String WORKER_DEVICE_KEY = "mmstream.worker.device";

    /** Labels that Prometheus's Kubernetes scrape config adds to every series it scrapes. */
    static final Set<String> SCRAPE_TARGET_LABELS = Set.of("job", "instance", "namespace", "pod");

    record Setting(String key, String app, boolean required, Optional<String> defaultValue) {}

    record MetricFamily(String name, String type, Set<String> labels, String exposedBy) {
        /** Series names a scrape shows for this family, each with the labels it carries. */
        Map<String, Set<String>> series() {
            if (!type.equals("histogram")) {
                return Map.of(name, labels);
            }
            Set<String> bucketLabels = new LinkedHashSet<>(labels);
            bucketLabels.add("le");
            return Map.of(name + "_bucket", bucketLabels, name + "_sum", labels, name + "_count", labels);
        }
    }

    record Topic(String name, boolean carriesImage, Optional<String> workerKind) {}

    private final List<Setting> settings;
    private final Map<String, MetricFamily> metricFamilies;
    private final List<Topic> topics;

    private AppContract(List<Setting> settings, Map<String, MetricFamily> metricFamilies, List<Topic> topics) {
        this.settings = settings;
        this.metricFamilies = metricFamilies;
        this.topics = topics;
    }

    static AppContract load() {
        List<Setting> settings = rows("setting-keys.txt", 4).stream()
                .map(r -> new Setting(r[0], app(r[1]), required(r[2]), dash(r[3])))
                .toList();
        Map<String, MetricFamily> families = new LinkedHashMap<>();
        for (String[] r : rows("metric-names.txt", 4)) {
            Set<String> labels = dash(r[2]).map(l -> Set.of(l.split(","))).orElse(Set.of());
            families.put(r[0], new MetricFamily(r[0], r[1], labels, r[3]));
        }
        List<Topic> topics = rows("topics.txt", 3).stream()
                .map(r -> new Topic(r[0], r[1].equals("inline-image"), dash(r[2])))
                .toList();
        return new AppContract(settings, families, topics);
    }

    Set<String> keys(String app) {
        return settings.stream().filter(s -> s.app().equals(app)).map(Setting::key).collect(Collectors.toSet());
    }

    Set<String> requiredKeys(String app) {
        return settings.stream().filter(s -> s.app().equals(app) && s.required()).map(Setting::key)
                .collect(Collectors.toSet());
    }

    Optional<String> defaultValue(String app, String key) {
        return settings.stream().filter(s -> s.app().equals(app) && s.key().equals(key)).findFirst()
                .flatMap(Setting::defaultValue);
    }

    /** The environment variable that overrides a key: the key upper-cased, dots and dashes to underscores. */
    static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** Every series name the apps and exporters expose, with the labels each carries. */
    Map<String, Set<String>> exposedSeries() {
        Map<String, Set<String>> series = new LinkedHashMap<>();
        metricFamilies.values().forEach(f -> series.putAll(f.series()));
        return series;
    }

    List<Topic> topics() {
        return topics;
    }

    Optional<Topic> inputTopicOf(String workerKind) {
        return topics.stream().filter(t -> t.workerKind().equals(Optional.of(workerKind))).findFirst();
    }

    private static List<String[]> rows(String resource, int columns) {
        try (InputStream in = AppContract.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                    .map(l -> {
                        String[] r = l.split("\\s+");
                        if (r.length != columns) {
                            throw new IllegalStateException(resource + ": expected " + columns + " columns in: " + l);
                        }
                        return r;
                    })
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String app(String name) {
        if (!APPS.contains(name)) {
            throw new IllegalStateException("unknown app " + name + ", expected one of " + APPS);
        }
        return name;
    }

    private static boolean required(String need) {
        return switch (need) {
            case "required" -> true;
            case "optional" -> false;
            default -> throw new IllegalStateException("need must be required or optional: " + need);
        };
    }

    private static Optional<String> dash(String value) {
        return value.equals("-") ? Optional.empty() : Optional.of(value);
    }
}

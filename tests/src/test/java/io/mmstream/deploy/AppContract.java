package io.mmstream.deploy;

import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Setting;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageSettings;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.topic.Topics;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.WorkerSettings;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the mmstream apps read and where they listen, taken from the apps' own declarations, as the deployment
 * tests check deploy/k8s against it: setting keys ({@link StreamApp#SETTINGS}, {@link WorkerSettings#ALL}),
 * topics ({@link Topics#ALL}), worker kinds ({@link ModelKind}) and the HTTP endpoints of the launcher's
 * health server. The metric names that monitoring/ may use come from a scrape of the running apps instead
 * ({@link MonitoringScrapeTest}).
 */
final class AppContract {

    static final String STREAM_APP = "stream-app";
    static final String WORKER = "worker";
    static final Set<String> APPS = Set.of(STREAM_APP, WORKER);
    /** Kinds deployed on Kubernetes; instruct shares vqa's topic and needs a GPU-sized model, so it has no base Deployment. */
    static final Set<String> WORKER_KINDS =
            Set.of(ModelKind.CLIP.id(), ModelKind.CAPTION.id(), ModelKind.VQA.id(), ModelKind.CHAT.id());

    static final String LIVENESS_PATH = "/health/live";
    static final String READINESS_PATH = "/health/ready";
    static final String METRICS_PATH = "/metrics";
    static final String SETTINGS_DIR = "/etc/mmstream";
    static final String SETTINGS_FILE_NAME = "mmstream.properties";
    static final String SETTINGS_FILE = SETTINGS_DIR + "/" + SETTINGS_FILE_NAME;
    static final String CONFIG_OPTION = "--config";
    static final String ENV_PREFIX = "MMSTREAM_";
    /** Kafka client keys under these prefixes are passed through to the clients without a declaration. */
    static final List<String> PASS_THROUGH_PREFIXES = List.of("kafka.sasl.", "kafka.ssl.");

    static final String BOOTSTRAP_KEY = KafkaSettings.BOOTSTRAP_SERVERS.key();
    static final String MAX_INLINE_IMAGE_KEY = ImageSettings.MAX_INLINE_BYTES.key();
    static final String MAX_MESSAGE_BYTES_KEY = KafkaSettings.MAX_MESSAGE_BYTES.key();
    static final String WORKER_KIND_KEY = WorkerSettings.KIND.key();
    static final String WORKER_GROUP_KEY = WorkerSettings.GROUP_ID.key();
    static final String WORKER_MODEL_DIR_KEY = WorkerSettings.MODEL_DIR.key();
    static final String WORKER_DEVICE_KEY = WorkerSettings.DEVICE.key();

    /** Labels that Prometheus's Kubernetes scrape config adds to every series it scrapes. */
    static final Set<String> SCRAPE_TARGET_LABELS = Set.of("job", "instance", "namespace", "pod");

    /** Each app's settings by key. */
    private static final Map<String, Map<String, Setting<?>>> SETTINGS = Map.of(
            STREAM_APP, byKey(StreamApp.SETTINGS),
            WORKER, byKey(WorkerSettings.ALL));

    /**
     * Keys a deployment must set although the app has a default: the default bootstrap server is localhost, and
     * a worker needs its model directory (the alternative, a random-weight preset, is for benchmarks only).
     */
    private static final Map<String, Set<String>> DEPLOYMENT_REQUIRED = Map.of(
            STREAM_APP, Set.of(BOOTSTRAP_KEY),
            WORKER, Set.of(BOOTSTRAP_KEY, WORKER_KIND_KEY, WORKER_MODEL_DIR_KEY));

    /** Topics whose records may carry an inline image. */
    private static final Set<String> IMAGE_TOPICS = Set.of(Topics.IMAGES, Topics.IMAGES_ACCEPTED, Topics.TASKS_TAG,
            Topics.TASKS_CAPTION, Topics.TASKS_VQA, Topics.TASKS_CHAT, Topics.DLQ);

    record Topic(String name, boolean carriesImage, Optional<String> workerKind) {}

    private AppContract() {}

    static AppContract load() {
        return new AppContract();
    }

    /** The setting of {@code app} that {@code key} names, if the app declares it. */
    Optional<Setting<?>> setting(String app, String key) {
        return Optional.ofNullable(SETTINGS.get(app).get(key));
    }

    /** Whether {@code app} reads {@code key}: a declared setting or a passed-through Kafka client key. */
    boolean reads(String app, String key) {
        return SETTINGS.get(app).containsKey(key) || PASS_THROUGH_PREFIXES.stream().anyMatch(key::startsWith);
    }

    /** The key an MMSTREAM_* variable sets for {@code app}, the way {@link Settings} maps it back. */
    Optional<String> keyOfEnv(String app, String envName) {
        String name = envName.endsWith("_FILE") ? envName.substring(0, envName.length() - "_FILE".length()) : envName;
        Optional<String> declared = SETTINGS.get(app).keySet().stream()
                .filter(k -> Settings.envName(k).equals(name)).findFirst();
        if (declared.isPresent()) {
            return declared;
        }
        String dotted = name.substring(ENV_PREFIX.length()).toLowerCase(java.util.Locale.ROOT).replace('_', '.');
        return reads(app, dotted) ? Optional.of(dotted) : Optional.empty();
    }

    /** Keys without a default (secrets aside: they are optional) and keys a deployment must set anyway. */
    Set<String> requiredKeys(String app) {
        Set<String> required = SETTINGS.get(app).values().stream()
                .filter(s -> s.defaultValue() == null && !s.secret())
                .map(Setting::key).collect(Collectors.toSet());
        required.addAll(DEPLOYMENT_REQUIRED.get(app));
        return required;
    }

    Optional<String> defaultValue(String app, String key) {
        return setting(app, key).filter(s -> s.defaultValue() != null).map(Setting::defaultText);
    }

    /** The key of the port that serves /metrics and /health/* in {@code app}. */
    static String httpPortKey(String app) {
        return app.equals(STREAM_APP) ? StreamSettings.HTTP_PORT.key() : WorkerSettings.HTTP_PORT.key();
    }

    List<Topic> topics() {
        return Topics.ALL.stream().map(name -> new Topic(name, IMAGE_TOPICS.contains(name),
                Arrays.stream(ModelKind.values()).filter(k -> WORKER_KINDS.contains(k.id()))
                        .filter(k -> k.taskTopic().equals(name)).map(ModelKind::id).findFirst()))
                .toList();
    }

    Optional<Topic> inputTopicOf(String workerKind) {
        return topics().stream().filter(t -> t.workerKind().equals(Optional.of(workerKind))).findFirst();
    }

    private static Map<String, Setting<?>> byKey(List<Setting<?>> settings) {
        return settings.stream().collect(Collectors.toUnmodifiableMap(Setting::key, s -> s, (a, b) -> a));
    }
}

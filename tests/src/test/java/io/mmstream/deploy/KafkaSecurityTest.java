package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.mmstream.cli.DemoConfig;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.security.AppAccess;
import io.mmstream.security.AppAcls;
import io.mmstream.stream.StreamApp;
import io.mmstream.stream.StreamSettings;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.WorkerSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.resource.PatternType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Kafka security in deploy/k8s and the README agrees with the one ACL definition ({@link AppAcls}, through
 * {@link StreamApp#access} and {@link WorkerSettings#access}): every app connects over TLS as its own Strimzi
 * KafkaUser, every credential comes from a Secret (never from the ConfigMap or a literal variable), the truststore
 * is the Strimzi cluster CA, and each KafkaUser grants exactly the ACLs its app declares for the settings it runs
 * with; the autoscaler authenticates with a describe-only user of its own.
 */
class KafkaSecurityTest {

    static final List<String> KUSTOMIZATIONS = RenderedManifests.KUSTOMIZATIONS;
    private static final AppContract CONTRACT = AppContract.load();
    private static final Map<String, String> USER_AUTHENTICATION = Map.of("SSL", "tls", "SASL_SSL", "scram-sha-512");
    /** Keys whose value is a file holding a credential, by security protocol. */
    private static final Map<String, String> CREDENTIAL_FILE_KEY = Map.of("SSL", "kafka.ssl.keystore.location",
            "SASL_SSL", "kafka.sasl.jaas.config");
    private static final String TRUSTSTORE_KEY = "kafka.ssl.truststore.location";

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void every_app_connects_over_tls_as_its_own_kafka_user_with_credentials_from_secrets(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        Map<String, JsonNode> users = kafkaUsers(manifests);
        Set<String> usersOfPods = new HashSet<>();
        for (PodSettings pod : DeploymentContractTest.pods(kustomization)) {
            String what = kustomization + ": " + pod.deploymentName();
            String protocol = pod.require(KafkaSettings.SECURITY_PROTOCOL.key());
            assertThat(USER_AUTHENTICATION).as(what + ": " + KafkaSettings.SECURITY_PROTOCOL.key()).containsKey(protocol);
            String cluster = strimziCluster(pod.require(AppContract.BOOTSTRAP_KEY));

            assertThat(pod.fileKeys()).as(what + ": secrets in the ConfigMap").noneMatch(Settings::isSecretKey);
            for (EnvVar env : Optional.ofNullable(pod.container().getEnv()).orElse(List.of())) {
                Optional<String> key = CONTRACT.keyOfEnv(pod.app(), env.getName());
                if (key.isEmpty() || !isSecret(pod.app(), key.get())) {
                    continue;
                }
                if (env.getName().endsWith("_FILE")) {
                    assertThat(secretVolumeHolding(pod, env.getValue())).as(what + ": " + env.getName()
                            + " names a file in a mounted Secret").isPresent();
                } else {
                    assertThat(env.getValueFrom()).as(what + ": " + env.getName() + " comes from a Secret").isNotNull();
                    assertThat(env.getValueFrom().getSecretKeyRef()).as(what + ": " + env.getName()).isNotNull();
                }
            }

            String credentialFile = credentialFile(pod, protocol);
            String userName = secretVolumeHolding(pod, credentialFile)
                    .orElseThrow(() -> new AssertionError(what + ": credential " + credentialFile + " is not in a Secret"))
                    .getSecret().getSecretName();
            JsonNode user = users.get(userName);
            assertThat(user).as(what + ": KafkaUser " + userName + " whose Secret holds the credential").isNotNull();
            assertThat(user.path("metadata").path("labels").path("strimzi.io/cluster").asText()).as(what)
                    .isEqualTo(cluster);
            assertThat(user.path("spec").path("authentication").path("type").asText()).as(what)
                    .isEqualTo(USER_AUTHENTICATION.get(protocol));
            assertThat(usersOfPods.add(userName)).as(what + ": KafkaUser " + userName + " shared with another app")
                    .isTrue();

            String truststore = pod.require(TRUSTSTORE_KEY);
            assertThat(secretVolumeHolding(pod, truststore).map(v -> v.getSecret().getSecretName())).as(what
                    + ": truststore " + truststore).contains(cluster + "-cluster-ca-cert");
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void each_kafka_user_grants_exactly_the_acls_its_app_declares(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        Map<String, JsonNode> users = new HashMap<>(kafkaUsers(manifests));
        for (PodSettings pod : DeploymentContractTest.pods(kustomization)) {
            String protocol = pod.require(KafkaSettings.SECURITY_PROTOCOL.key());
            String userName = secretVolumeHolding(pod, credentialFile(pod, protocol)).orElseThrow()
                    .getSecret().getSecretName();
            AppAccess access = pod.app().equals(AppContract.STREAM_APP) ? StreamApp.access(pod.settings())
                    : WorkerSettings.from(pod.settings()).access();
            assertThat(acls(users.remove(userName))).as(kustomization + ": KafkaUser " + userName + " of "
                    + pod.deploymentName()).containsExactlyInAnyOrderElementsOf(expected(access));
        }
        List<JsonNode> scaledObjects = manifests.custom("ScaledObject");
        if (!scaledObjects.isEmpty()) {
            List<String> topics = new ArrayList<>();
            List<String> groups = new ArrayList<>();
            Set<String> authentications = new HashSet<>();
            for (JsonNode scaledObject : scaledObjects) {
                JsonNode trigger = scaledObject.path("spec").path("triggers").get(0);
                topics.add(trigger.path("metadata").path("topic").asText());
                groups.add(trigger.path("metadata").path("consumerGroup").asText());
                assertThat(trigger.path("metadata").path("tls").asText()).as("scaler uses TLS").isEqualTo("enable");
                authentications.add(trigger.path("authenticationRef").path("name").asText());
            }
            assertThat(authentications).as(kustomization + ": one TriggerAuthentication for every scaler").hasSize(1);
            JsonNode auth = manifests.custom("TriggerAuthentication").stream()
                    .filter(t -> t.path("metadata").path("name").asText().equals(authentications.iterator().next()))
                    .findFirst().orElseThrow(() -> new AssertionError(kustomization + ": no TriggerAuthentication "
                            + authentications));
            Map<String, String> secretOf = new HashMap<>();
            auth.path("spec").path("secretTargetRef").forEach(r -> secretOf.put(r.path("parameter").asText(),
                    r.path("name").asText()));
            assertThat(secretOf.get("ca")).isEqualTo("mmstream-kafka-cluster-ca-cert");
            assertThat(secretOf.get("key")).isEqualTo(secretOf.get("cert"));
            JsonNode scalerUser = users.remove(secretOf.get("cert"));
            assertThat(scalerUser).as(kustomization + ": the scaler's KafkaUser " + secretOf.get("cert")).isNotNull();
            assertThat(scalerUser.path("spec").path("authentication").path("type").asText()).isEqualTo("tls");
            assertThat(acls(scalerUser)).as(kustomization + ": the scaler's ACLs")
                    .containsExactlyInAnyOrderElementsOf(expected(AppAcls.lagReader(topics, groups)));
        }
        assertThat(users.keySet()).as(kustomization + ": KafkaUsers that no app uses").isEmpty();
    }

    @Test
    void readme_acl_table_lists_the_acls_of_every_app() throws Exception {
        String readme = Files.readString(RenderedManifests.REPO_ROOT.resolve("README.md"));
        List<AppAccess> apps = new ArrayList<>();
        apps.add(StreamApp.access(Settings.empty()));
        List<String> topics = new ArrayList<>();
        List<String> groups = new ArrayList<>();
        for (ModelKind kind : ModelKind.values()) {
            AppAccess worker = WorkerSettings.defaultAccess(kind);
            apps.add(worker);
            if (AppContract.WORKER_KINDS.contains(kind.id())) {
                topics.add(kind.taskTopic());
                groups.add(worker.grants().stream().filter(g -> g.resourceType().name().equals("GROUP"))
                        .findFirst().orElseThrow().name());
            }
        }
        apps.add(AppAcls.publisher());
        apps.add(AppAcls.tail());
        apps.add(AppAcls.lagReader(topics, groups));
        apps.add(DemoConfig.access());
        for (AppAccess app : apps) {
            for (String row : app.readmeRows()) {
                assertThat(readme).as("README Security table row of " + app.app()).contains(row);
            }
        }
        assertThat(readme).contains("| `" + StreamSettings.APPLICATION_ID.defaultValue() + "` |");
    }

    @Test
    void startup_dumps_of_both_apps_mask_every_kafka_secret(@TempDir Path dir) throws Exception {
        Path password = Files.writeString(dir.resolve("user.password"), "keystore-secret-1");
        Path jaas = Files.writeString(dir.resolve("sasl.jaas.config"),
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"jaas-secret-2\";");
        Map<String, String> env = Map.of(
                "MMSTREAM_KAFKA_SSL_KEYSTORE_PASSWORD_FILE", password.toString(),
                "MMSTREAM_KAFKA_SASL_JAAS_CONFIG_FILE", jaas.toString(),
                "MMSTREAM_KAFKA_SSL_TRUSTSTORE_PASSWORD", "truststore-secret-3",
                "MMSTREAM_KAFKA_SSL_KEY_PASSWORD", "key-secret-4",
                "MMSTREAM_KAFKA_SSL_KEYSTORE_KEY", "-----BEGIN PRIVATE KEY-----key-secret-5",
                "MMSTREAM_KAFKA_SSL_KEYSTORE_LOCATION", "/var/run/secrets/user.p12");
        Settings settings = Settings.load(null, env);
        for (String dump : List.of(settings.describe(StreamApp.SETTINGS), settings.describe(WorkerSettings.ALL))) {
            assertThat(dump).doesNotContain("secret-").contains("kafka.ssl.keystore.password = ****",
                    "kafka.sasl.jaas.config = ****", "kafka.ssl.keystore.location = /var/run/secrets/user.p12");
        }
    }

    /** One Strimzi ACL rule: resource type, name, pattern, operations. */
    private record Rule(String type, String name, String patternType, Set<String> operations) {}

    private static List<Rule> expected(AppAccess access) {
        return access.grants().stream().map(g -> new Rule(strimziType(g.resourceType().name()), g.name(),
                g.patternType() == PatternType.PREFIXED ? "prefix" : "literal",
                g.operations().stream().map(o -> AppAccess.title(o.name())).collect(Collectors.toSet()))).toList();
    }

    private static List<Rule> acls(JsonNode user) {
        assertThat(user).isNotNull();
        JsonNode authorization = user.path("spec").path("authorization");
        assertThat(authorization.path("type").asText()).isEqualTo("simple");
        List<Rule> rules = new ArrayList<>();
        for (JsonNode acl : authorization.path("acls")) {
            assertThat(acl.path("type").asText("allow")).isEqualTo("allow");
            assertThat(acl.path("host").asText("*")).isEqualTo("*");
            JsonNode resource = acl.path("resource");
            Set<String> operations = new HashSet<>();
            acl.path("operations").forEach(o -> operations.add(o.asText()));
            rules.add(new Rule(resource.path("type").asText(), resource.path("name").asText(),
                    resource.path("patternType").asText("literal"), operations));
        }
        return rules;
    }

    /** Strimzi's name of a Kafka resource type: TRANSACTIONAL_ID → transactionalId. */
    private static String strimziType(String resourceType) {
        String title = AppAccess.title(resourceType);
        return Character.toLowerCase(title.charAt(0)) + title.substring(1);
    }

    private static Map<String, JsonNode> kafkaUsers(RenderedManifests manifests) {
        return manifests.custom("KafkaUser").stream()
                .collect(Collectors.toMap(u -> u.path("metadata").path("name").asText(), u -> u));
    }

    private static boolean isSecret(String app, String key) {
        return Settings.isSecretKey(key) || CONTRACT.setting(app, key).map(s -> s.secret()).orElse(false);
    }

    /** The file that holds the app's credential: its keystore (mutual TLS) or its JAAS line (SCRAM). */
    private static String credentialFile(PodSettings pod, String protocol) {
        String key = CREDENTIAL_FILE_KEY.get(protocol);
        if (key.endsWith(".location")) {
            return pod.require(key);
        }
        String fileVariable = Settings.envName(key) + "_FILE";
        return pod.container().getEnv().stream().filter(e -> e.getName().equals(fileVariable)).map(EnvVar::getValue)
                .findFirst().orElseThrow(() -> new AssertionError(pod.deploymentName() + ": no " + fileVariable));
    }

    /** The Secret volume mounted over {@code path}, if any. */
    private static Optional<Volume> secretVolumeHolding(PodSettings pod, String path) {
        List<Volume> volumes = pod.deployment().getSpec().getTemplate().getSpec().getVolumes();
        for (VolumeMount mount : pod.container().getVolumeMounts()) {
            if (path.startsWith(mount.getMountPath() + "/")) {
                return volumes.stream().filter(v -> v.getName().equals(mount.getName()) && v.getSecret() != null)
                        .findFirst();
            }
        }
        return Optional.empty();
    }

    /** Strimzi names the bootstrap Service of cluster C "C-kafka-bootstrap". */
    private static String strimziCluster(String bootstrapServers) {
        String host = bootstrapServers.split(",")[0].replaceAll(":.*", "").replaceAll("\\..*", "");
        return host.substring(0, host.length() - "-kafka-bootstrap".length());
    }
}

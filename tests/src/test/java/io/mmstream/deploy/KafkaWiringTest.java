package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.mmstream.topic.TopicSettings;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Topics, autoscaling, network policies and GPU scheduling agree with the apps and with each other: the
 * KafkaTopics are exactly the apps' topics and hold their largest records, each worker scales on the lag of its
 * own consumer group on its own task topic up to the partition count, pods may reach the brokers they are
 * configured with, and GPU workers ask for GPUs.
 */
class KafkaWiringTest {

    static final List<String> KUSTOMIZATIONS = RenderedManifests.KUSTOMIZATIONS;
    private static final AppContract CONTRACT = AppContract.load();

    /** Room for the Avro envelope and headers around an inline image of the maximum size. */
    private static final long RECORD_ENVELOPE_BYTES = 64 * 1024;
    private static final String GPU_RESOURCE = "nvidia.com/gpu";

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void kafka_topics_are_exactly_the_apps_topics_on_the_configured_cluster(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        assertThat(topics(manifests).keySet())
                .containsExactlyInAnyOrderElementsOf(CONTRACT.topics().stream().map(AppContract.Topic::name).toList());
        for (PodSettings pod : DeploymentContractTest.pods(kustomization)) {
            String cluster = strimziCluster(pod.require(AppContract.BOOTSTRAP_KEY));
            for (JsonNode topic : manifests.custom("KafkaTopic")) {
                assertThat(topic.path("metadata").path("labels").path("strimzi.io/cluster").asText())
                        .as(kustomization + ": " + pod.deploymentName() + " connects to " + cluster)
                        .isEqualTo(cluster);
            }
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void topics_that_carry_images_accept_the_largest_inline_image(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        long maxInline = DeploymentContractTest.pods(kustomization).stream()
                .filter(p -> p.app().equals(AppContract.STREAM_APP))
                .map(p -> Long.parseLong(p.require(AppContract.MAX_INLINE_IMAGE_KEY)))
                .findFirst().orElseThrow();
        int streamsReplication = DeploymentContractTest.pods(kustomization).stream()
                .filter(p -> p.app().equals(AppContract.STREAM_APP))
                .map(p -> Integer.parseInt(p.require(TopicSettings.REPLICATION_FACTOR.key())))
                .findFirst().orElseThrow();
        Map<String, JsonNode> topics = topics(manifests);
        for (AppContract.Topic topic : CONTRACT.topics()) {
            JsonNode spec = topics.get(topic.name()).path("spec");
            long maxMessageBytes = spec.path("config").path("max.message.bytes").asLong();
            if (topic.carriesImage()) {
                assertThat(maxMessageBytes).as(kustomization + ": " + topic.name() + " max.message.bytes")
                        .isGreaterThanOrEqualTo(maxInline + RECORD_ENVELOPE_BYTES);
            }
            assertThat(spec.path("replicas").asInt()).as(kustomization + ": " + topic.name()
                    + " replicas: Kafka Streams creates its internal topics with the stream app's replication factor")
                    .isGreaterThanOrEqualTo(streamsReplication);
            assertThat(spec.path("config").path("min.insync.replicas").asInt())
                    .as(kustomization + ": " + topic.name() + " min.insync.replicas")
                    .isBetween(1, spec.path("replicas").asInt());
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void each_autoscaled_worker_scales_on_its_own_lag_up_to_the_partition_count(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        Map<String, JsonNode> scaledObjects = manifests.custom("ScaledObject").stream()
                .collect(Collectors.toMap(s -> s.path("spec").path("scaleTargetRef").path("name").asText(),
                        Function.identity()));
        Map<String, JsonNode> topics = topics(manifests);
        for (PodSettings pod : DeploymentContractTest.pods(kustomization)) {
            JsonNode scaledObject = scaledObjects.remove(pod.deploymentName());
            if (scaledObject == null) {
                continue;
            }
            String what = kustomization + ": ScaledObject for " + pod.deploymentName();
            assertThat(pod.app()).as(what).isEqualTo(AppContract.WORKER);
            assertThat(pod.deployment().getSpec().getReplicas()).as(what + ": KEDA owns the replica count").isNull();
            String kind = pod.require(AppContract.WORKER_KIND_KEY);
            String inputTopic = CONTRACT.inputTopicOf(kind).orElseThrow().name();
            JsonNode spec = scaledObject.path("spec");
            assertThat(spec.path("triggers")).as(what).hasSize(1);
            JsonNode trigger = spec.path("triggers").get(0);
            assertThat(trigger.path("type").asText()).isEqualTo("kafka");
            JsonNode metadata = trigger.path("metadata");
            assertThat(metadata.path("topic").asText()).as(what).isEqualTo(inputTopic);
            assertThat(metadata.path("consumerGroup").asText()).as(what)
                    .isEqualTo(pod.require(AppContract.WORKER_GROUP_KEY));
            assertThat(metadata.path("bootstrapServers").asText()).as(what)
                    .isEqualTo(pod.require(AppContract.BOOTSTRAP_KEY));
            assertThat(spec.path("minReplicaCount").asInt()).as(what).isPositive();
            assertThat(spec.path("maxReplicaCount").asInt()).as(what + ": maxReplicaCount")
                    .isEqualTo(topics.get(inputTopic).path("spec").path("partitions").asInt());
        }
        assertThat(scaledObjects.keySet()).as(kustomization + ": ScaledObjects without a Deployment").isEmpty();
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void network_policies_let_pods_reach_their_brokers_and_prometheus_reach_metrics(String kustomization) {
        List<NetworkPolicy> policies = RenderedManifests.of(kustomization).all(NetworkPolicy.class);
        for (PodSettings pod : DeploymentContractTest.pods(kustomization)) {
            String what = kustomization + ": " + pod.deploymentName();
            Map<String, String> podLabels = pod.deployment().getSpec().getTemplate().getMetadata().getLabels();
            List<NetworkPolicy> selecting = policies.stream()
                    .filter(p -> Optional.ofNullable(p.getSpec().getPodSelector().getMatchLabels()).orElse(Map.of())
                            .entrySet().stream().allMatch(e -> e.getValue().equals(podLabels.get(e.getKey()))))
                    .toList();
            int brokerPort = Integer.parseInt(pod.require(AppContract.BOOTSTRAP_KEY).replaceAll(".*:", ""));
            assertThat(selecting.stream().flatMap(p -> Optional.ofNullable(p.getSpec().getEgress()).orElse(List.of())
                            .stream()).flatMap(r -> r.getPorts().stream()).map(NetworkPolicyPort::getPort))
                    .as(what + ": egress to the broker port").contains(new IntOrString(brokerPort));
            int httpPort = Integer.parseInt(pod.require(AppContract.httpPortKey(pod.app())));
            assertThat(selecting.stream().flatMap(p -> Optional.ofNullable(p.getSpec().getIngress())
                            .orElse(List.of()).stream()).flatMap(r -> r.getPorts().stream())
                    .map(NetworkPolicyPort::getPort).map(port -> port.getIntVal() != null ? port.getIntVal()
                            : namedPort(pod.container(), port.getStrVal())))
                    .as(what + ": ingress to the metrics port").contains(httpPort);
        }
    }

    @Test
    void dev_runs_one_replica_of_everything_without_autoscaling_or_gpus() {
        RenderedManifests dev = RenderedManifests.of("deploy/k8s/overlays/dev");
        assertThat(dev.custom("ScaledObject")).isEmpty();
        for (Deployment d : dev.all(Deployment.class)) {
            assertThat(d.getSpec().getReplicas()).as(d.getMetadata().getName()).isEqualTo(1);
            assertThat(gpuRequests(d)).as(d.getMetadata().getName()).isEmpty();
        }
        for (PodSettings pod : DeploymentContractTest.pods("deploy/k8s/overlays/dev")) {
            if (pod.app().equals(AppContract.WORKER)) {
                assertThat(pod.require(AppContract.WORKER_DEVICE_KEY)).isEqualTo("cpu");
                assertThat(pod.deployment().getSpec().getTemplate().getSpec().getInitContainers())
                        .as(pod.deploymentName() + ": copies the model snapshot in").hasSize(1);
            }
        }
    }

    @Test
    void gpu_workers_request_a_gpu_tolerate_gpu_taints_and_select_gpu_nodes() {
        for (PodSettings pod : DeploymentContractTest.pods("deploy/k8s/overlays/gpu")) {
            PodSpec spec = pod.deployment().getSpec().getTemplate().getSpec();
            String what = pod.deploymentName();
            if (!pod.app().equals(AppContract.WORKER)) {
                assertThat(gpuRequests(pod.deployment())).as(what).isEmpty();
                continue;
            }
            Container c = pod.container();
            assertThat(c.getResources().getRequests()).as(what).containsEntry(GPU_RESOURCE, new Quantity("1"));
            assertThat(c.getResources().getLimits()).as(what).containsEntry(GPU_RESOURCE, new Quantity("1"));
            assertThat(spec.getTolerations()).as(what).extracting(Toleration::getKey).contains(GPU_RESOURCE);
            assertThat(spec.getNodeSelector()).as(what).isNotEmpty();
            assertThat(pod.require(AppContract.WORKER_DEVICE_KEY)).as(what).isEqualTo("gpu");
            assertThat(c.getImage()).as(what).endsWith("-cuda");
        }
    }

    @Test
    void base_workers_are_cpu_workers() {
        for (PodSettings pod : DeploymentContractTest.pods("deploy/k8s/base")) {
            assertThat(gpuRequests(pod.deployment())).as(pod.deploymentName()).isEmpty();
            if (pod.app().equals(AppContract.WORKER)) {
                assertThat(pod.require(AppContract.WORKER_DEVICE_KEY)).isEqualTo("cpu");
            }
        }
    }

    private static Map<String, JsonNode> topics(RenderedManifests manifests) {
        return manifests.custom("KafkaTopic").stream()
                .collect(Collectors.toMap(t -> t.path("spec").path("topicName").asText(), Function.identity()));
    }

    /** Strimzi names the bootstrap Service of cluster C "C-kafka-bootstrap". */
    private static String strimziCluster(String bootstrapServers) {
        String host = bootstrapServers.split(",")[0].replaceAll(":.*", "").replaceAll("\\..*", "");
        assertThat(host).as("bootstrap host of a Strimzi cluster").endsWith("-kafka-bootstrap");
        return host.substring(0, host.length() - "-kafka-bootstrap".length());
    }

    private static int namedPort(Container container, String name) {
        return container.getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError(container.getName() + ": no port named " + name))
                .getContainerPort();
    }

    private static List<Quantity> gpuRequests(Deployment deployment) {
        return deployment.getSpec().getTemplate().getSpec().getContainers().stream()
                .map(c -> c.getResources().getRequests()).filter(Objects::nonNull)
                .map(r -> r.get(GPU_RESOURCE)).filter(Objects::nonNull).toList();
    }
}

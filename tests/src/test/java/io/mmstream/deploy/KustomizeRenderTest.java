package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.mmstream.topic.Topics;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Every kustomization under deploy/k8s renders with {@code kubectl kustomize}, and every rendered object is a
 * well-formed Kubernetes object: core kinds parse into typed fabric8 objects with no unrecognised field, custom
 * resources (KEDA, Strimzi) validate against their CRD schemas.
 */
class KustomizeRenderTest {

    static final List<String> KUSTOMIZATIONS = RenderedManifests.KUSTOMIZATIONS;

    private static final Set<String> CUSTOM_KINDS = Set.of("ScaledObject", "KafkaTopic", "KafkaUser",
            "TriggerAuthentication");
    private static final CrdSchemas CRD_SCHEMAS = CrdSchemas.load();

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void renders_only_known_kinds_into_typed_objects_without_unrecognised_fields(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        assertThat(manifests.documents()).isNotEmpty();
        for (RenderedManifests.Document doc : manifests.documents()) {
            String what = kustomization + ": " + doc.kind() + " " + doc.name();
            if (CUSTOM_KINDS.contains(doc.kind())) {
                assertThat(doc.typed()).as(what).isNull();
                continue;
            }
            assertThat(doc.typed()).as(what + " (" + doc.apiVersion() + ") is not a kind the Kubernetes model knows")
                    .isNotNull();
            assertThat(UnknownFields.in(doc.typed())).as(what + ": fields the Kubernetes API does not define")
                    .isEmpty();
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void custom_resources_match_their_crd_schemas(String kustomization) {
        for (String kind : CUSTOM_KINDS) {
            for (JsonNode resource : RenderedManifests.of(kustomization).custom(kind)) {
                String what = kustomization + ": " + kind + " " + resource.path("metadata").path("name").asText();
                assertThat(CRD_SCHEMAS.validate(resource)).as(what + ": no vendored CRD for its apiVersion")
                        .isPresent()
                        .hasValueSatisfying(errors -> assertThat(errors).as(what).isEmpty());
            }
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void every_app_has_its_deployment_settings_disruption_budget_and_metrics_service(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        Set<String> apps = Set.of("mmstream-stream-app", "mmstream-worker-clip", "mmstream-worker-caption",
                "mmstream-worker-vqa", "mmstream-worker-chat");
        assertThat(names(manifests.all(Deployment.class))).containsExactlyInAnyOrderElementsOf(apps);
        assertThat(names(manifests.all(PodDisruptionBudget.class))).containsExactlyInAnyOrderElementsOf(apps);
        assertThat(names(manifests.all(Service.class)))
                .containsExactlyInAnyOrderElementsOf(apps.stream().map(a -> a + "-metrics").toList());
        assertThat(manifests.all(ConfigMap.class)).hasSize(apps.size());
        assertThat(manifests.all(NetworkPolicy.class)).isNotEmpty();
        assertThat(manifests.custom("KafkaTopic")).hasSize(Topics.ALL.size());
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void everything_lives_in_the_one_namespace_it_creates(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        List<Namespace> namespaces = manifests.all(Namespace.class);
        assertThat(namespaces).hasSize(1);
        String namespace = namespaces.get(0).getMetadata().getName();
        for (RenderedManifests.Document doc : manifests.documents()) {
            if (!doc.kind().equals("Namespace")) {
                assertThat(doc.json().path("metadata").path("namespace").asText())
                        .as(kustomization + ": " + doc.kind() + " " + doc.name()).isEqualTo(namespace);
            }
        }
    }

    @Test
    void a_misspelt_field_is_reported_as_unrecognised() throws Exception {
        JsonNode deployment = new YAMLMapper().readTree("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  template:
                    spec:
                      containers:
                        - name: app
                          readinesProbe: {httpGet: {path: /health/ready, port: http}}
                """);
        HasMetadata typed = RenderedManifests.typed(deployment);
        assertThat(UnknownFields.in(typed)).containsExactly("spec.template.spec.containers[0].readinesProbe");
    }

    @Test
    void crd_validation_rejects_undeclared_fields_missing_required_fields_and_out_of_range_values() {
        JsonNode scaledObject = RenderedManifests.of("deploy/k8s/base").custom("ScaledObject").get(0).deepCopy();
        ((ObjectNode) scaledObject.path("spec")).put("maxReplicasCount", 3);
        assertThat(CRD_SCHEMAS.validate(scaledObject).orElseThrow()).anySatisfy(
                m -> assertThat(m.getMessage()).contains("maxReplicasCount"));

        JsonNode noTriggers = RenderedManifests.of("deploy/k8s/base").custom("ScaledObject").get(0).deepCopy();
        ((ObjectNode) noTriggers.path("spec")).remove("triggers");
        assertThat(CRD_SCHEMAS.validate(noTriggers).orElseThrow()).anySatisfy(
                m -> assertThat(m.getMessage()).contains("triggers"));

        JsonNode user = RenderedManifests.of("deploy/k8s/base").custom("KafkaUser").get(0).deepCopy();
        ((ObjectNode) user.path("spec").path("authorization").path("acls").get(0)).putArray("operations").add("Reed");
        assertThat(CRD_SCHEMAS.validate(user).orElseThrow()).anySatisfy(
                m -> assertThat(m.getMessage()).contains("operations"));

        JsonNode topic = RenderedManifests.of("deploy/k8s/base").custom("KafkaTopic").get(0).deepCopy();
        ((ObjectNode) topic.path("spec")).put("partitions", 0);
        assertThat(CRD_SCHEMAS.validate(topic).orElseThrow()).anySatisfy(
                m -> assertThat(m.getMessage()).contains("partitions"));
    }

    private static Set<String> names(List<? extends HasMetadata> objects) {
        return objects.stream().map(o -> o.getMetadata().getName()).collect(Collectors.toSet());
    }
}

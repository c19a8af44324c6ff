package io.mmstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.NonValidationKeyword;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Validates custom resources against the OpenAPI v3 schemas of their CustomResourceDefinitions under crd/: vendored
 * (KEDA ScaledObject, Strimzi KafkaTopic) or, where not vendored, minimal schemas of the fields deploy/k8s uses
 * (Strimzi KafkaUser, KEDA TriggerAuthentication). Like {@code kubectl apply --validate=strict}, a field the schema
 * does not declare is an error unless the schema preserves unknown fields.
 */
final class CrdSchemas {

    private static final List<String> CRD_FILES = List.of("crd/keda-scaledobjects.keda.sh.yaml",
            "crd/strimzi-kafkatopics.kafka.strimzi.io.yaml", "crd/mmstream-minimal-kafkausers.kafka.strimzi.io.yaml",
            "crd/mmstream-minimal-triggerauthentications.keda.sh.yaml");
    private static final String PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields";
    /** Structural-schema extensions; the CRDs vendored here pair x-kubernetes-int-or-string with an anyOf. */
    private static final List<String> KUBERNETES_EXTENSIONS = List.of(PRESERVE_UNKNOWN, "x-kubernetes-int-or-string",
            "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
            "x-kubernetes-embedded-resource", "x-kubernetes-validations");

    /** Key: apiVersion + "/" + kind, e.g. "keda.sh/v1alpha1/ScaledObject". */
    private final Map<String, JsonSchema> schemas;

    private CrdSchemas(Map<String, JsonSchema> schemas) {
        this.schemas = schemas;
    }

    static CrdSchemas load() {
        JsonMetaSchema.Builder metaSchema = JsonMetaSchema.builder(JsonMetaSchema.getV4());
        KUBERNETES_EXTENSIONS.forEach(k -> metaSchema.keyword(new NonValidationKeyword(k)));
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4,
                b -> b.metaSchema(metaSchema.build()));
        Map<String, JsonSchema> schemas = new HashMap<>();
        YAMLMapper yaml = new YAMLMapper();
        for (String file : CRD_FILES) {
            try (InputStream in = CrdSchemas.class.getResourceAsStream(file);
                    MappingIterator<JsonNode> docs = yaml.readerFor(JsonNode.class).readValues(in)) {
                while (docs.hasNext()) {
                    JsonNode crd = docs.next();
                    String group = crd.path("spec").path("group").asText();
                    String kind = crd.path("spec").path("names").path("kind").asText();
                    for (JsonNode version : crd.path("spec").path("versions")) {
                        JsonNode schema = version.path("schema").path("openAPIV3Schema").deepCopy();
                        closeObjects(schema);
                        schemas.put(group + "/" + version.path("name").asText() + "/" + kind,
                                factory.getSchema(schema));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file, e);
            }
        }
        return new CrdSchemas(schemas);
    }

    /** The schema violations of a custom resource, or empty when no vendored CRD covers its apiVersion and kind. */
    Optional<Set<ValidationMessage>> validate(JsonNode resource) {
        JsonSchema schema = schemas.get(resource.path("apiVersion").asText() + "/" + resource.path("kind").asText());
        return Optional.ofNullable(schema).map(s -> s.validate(resource));
    }

    /** Structural schemas prune undeclared fields; turn that into a validation error so typos surface. */
    private static void closeObjects(JsonNode schema) {
        if (!(schema instanceof ObjectNode node)) {
            return;
        }
        if (node.has("properties") && !node.has("additionalProperties") && !node.path(PRESERVE_UNKNOWN).asBoolean()) {
            node.put("additionalProperties", false);
        }
        node.path("properties").forEach(CrdSchemas::closeObjects);
        closeObjects(node.get("items"));
        closeObjects(node.get("additionalProperties"));
        for (String combinator : List.of("anyOf", "allOf", "oneOf")) {
            node.path(combinator).forEach(CrdSchemas::closeObjects);
        }
    }
}

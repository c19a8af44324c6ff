package io.mmstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The objects one kustomization renders to with {@code kubectl kustomize}: each document as a JSON tree and, for
 * kinds the fabric8 model knows, as a typed Kubernetes object. Renders each directory once per JVM.
 */
final class RenderedManifests {

    static final Path REPO_ROOT = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"))
            .toAbsolutePath().normalize().getParent();
    static final List<String> KUSTOMIZATIONS = List.of("deploy/k8s/base", "deploy/k8s/overlays/dev",
            "deploy/k8s/overlays/gpu");

    private static final long RENDER_TIMEOUT_SECONDS = 60;
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Map<String, RenderedManifests> CACHE = new ConcurrentHashMap<>();

    /** One rendered object; {@code typed} is null for kinds the fabric8 model does not know (custom resources). */
    record Document(JsonNode json, HasMetadata typed) {
        String kind() {
            return json.path("kind").asText();
        }

        String apiVersion() {
            return json.path("apiVersion").asText();
        }

        String name() {
            return json.path("metadata").path("name").asText();
        }
    }

    private final String kustomization;
    private final List<Document> documents;

    private RenderedManifests(String kustomization, List<Document> documents) {
        this.kustomization = kustomization;
        this.documents = documents;
    }

    static RenderedManifests of(String kustomization) {
        return CACHE.computeIfAbsent(kustomization, k -> parse(k, render(REPO_ROOT.resolve(k))));
    }

    /** Runs {@code kubectl kustomize DIR} and returns what it printed. */
    static String render(Path dir) {
        try {
            Path stderr = Files.createTempFile("kustomize", ".err");
            Process p = new ProcessBuilder("kubectl", "kustomize", dir.toString())
                    .redirectError(stderr.toFile())
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(RENDER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("kubectl kustomize " + dir + " did not finish in "
                        + RENDER_TIMEOUT_SECONDS + " s");
            }
            String err = Files.readString(stderr);
            Files.delete(stderr);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("kubectl kustomize " + dir + " failed (exit " + p.exitValue()
                        + "):\n" + err);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kubectl (kubectl with kustomize v5 must be on PATH)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static RenderedManifests parse(String kustomization, String yaml) {
        List<Document> documents = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (docs.hasNext()) {
                JsonNode json = docs.next();
                if (json == null || json.isEmpty()) {
                    continue;
                }
                documents.add(new Document(json, typed(json)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rendered " + kustomization + " is not YAML", e);
        }
        return new RenderedManifests(kustomization, documents);
    }

    /** The fabric8 object for a document of a registered kind, else null. */
    static HasMetadata typed(JsonNode json) {
        if (SERIALIZATION.getRegisteredKubernetesResource(json.path("apiVersion").asText(),
                json.path("kind").asText()) == null) {
            return null;
        }
        KubernetesResource resource = SERIALIZATION.unmarshal(json.toString(), KubernetesResource.class);
        return (HasMetadata) resource;
    }

    String kustomization() {
        return kustomization;
    }

    List<Document> documents() {
        return documents;
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return documents.stream().map(Document::typed).filter(type::isInstance).map(type::cast).toList();
    }

    List<JsonNode> custom(String kind) {
        return documents.stream().filter(d -> d.kind().equals(kind)).map(Document::json).toList();
    }

    ConfigMap configMap(String name) {
        return all(ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(kustomization + ": no ConfigMap " + name));
    }

    @Override
    public String toString() {
        return kustomization;
    }
}

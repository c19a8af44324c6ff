package io.mmstream.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Named label sets for zero-shot tagging, per tenant with shared defaults, read from a JSON file:
 *
 * <pre>{@code
 * {"labelSets": {"animals": {"labels": ["cat", "dog"], "templates": ["a photo of a {}."]}},
 *  "tenants":   {"acme": {"labelSets": {"products": {"labels": ["shoe", "bag"]}}}}}
 * }</pre>
 *
 * A tenant sees its own sets first, then the shared ones. The stream app validates requests against
 * this file; taggers read the same file.
 */
public final class LabelSets {

  /** Templates used when a set names none: CLIP's plain prompt. */
  public static final List<String> DEFAULT_TEMPLATES = List.of("a photo of a {}.");

  public record LabelSet(String name, List<String> labels, List<String> templates) {}

  private record SetJson(@JsonProperty("labels") List<String> labels, @JsonProperty("templates") List<String> templates) {}

  private record TenantJson(@JsonProperty("labelSets") Map<String, SetJson> labelSets) {}

  private record FileJson(
      @JsonProperty("labelSets") Map<String, SetJson> labelSets, @JsonProperty("tenants") Map<String, TenantJson> tenants) {}

  private final Map<String, SetJson> shared;
  private final Map<String, TenantJson> tenants;

  private LabelSets(Map<String, SetJson> shared, Map<String, TenantJson> tenants) {
    this.shared = shared == null ? Map.of() : Map.copyOf(shared);
    this.tenants = tenants == null ? Map.of() : Map.copyOf(tenants);
    validate();
  }

  public static LabelSets empty() {
    return new LabelSets(Map.of(), Map.of());
  }

  public static LabelSets load(Path file) {
    try {
      return parse(mapper().readValue(file.toFile(), FileJson.class), file.toString());
    } catch (IOException e) {
      throw new SettingsException("cannot read label sets " + file + ": " + e.getMessage(), e);
    }
  }

  public static LabelSets parse(String json) {
    try {
      return parse(mapper().readValue(json, FileJson.class), "inline JSON");
    } catch (IOException e) {
      throw new SettingsException("cannot parse label sets: " + e.getMessage(), e);
    }
  }

  /** The file named by {@code path}, or no sets when it is empty. */
  public static LabelSets loadOrEmpty(String path) {
    return path == null || path.isBlank() ? empty() : load(Path.of(path));
  }

  private static LabelSets parse(FileJson json, String origin) {
    if (json == null) {
      throw new SettingsException("label sets " + origin + " are empty");
    }
    return new LabelSets(json.labelSets(), json.tenants());
  }

  private static ObjectMapper mapper() {
    return new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }

  /** The set {@code name} as seen by {@code tenant}: the tenant's own first, then the shared one. */
  public Optional<LabelSet> find(String tenant, String name) {
    TenantJson t = tenants.get(tenant);
    SetJson set = t != null && t.labelSets() != null ? t.labelSets().get(name) : null;
    if (set == null) {
      set = shared.get(name);
    }
    if (set == null) {
      return Optional.empty();
    }
    List<String> templates = set.templates() == null || set.templates().isEmpty() ? DEFAULT_TEMPLATES : set.templates();
    return Optional.of(new LabelSet(name, List.copyOf(set.labels()), List.copyOf(templates)));
  }

  private void validate() {
    shared.forEach((name, set) -> check("", name, set));
    tenants.forEach((tenant, t) -> {
      if (t.labelSets() != null) {
        t.labelSets().forEach((name, set) -> check(tenant, name, set));
      }
    });
  }

  private static void check(String tenant, String name, SetJson set) {
    String where = (tenant.isEmpty() ? "" : "tenant " + tenant + ", ") + "label set " + name;
    if (set == null || set.labels() == null || set.labels().isEmpty()) {
      throw new SettingsException(where + " has no labels");
    }
    if (set.templates() != null) {
      for (String t : set.templates()) {
        if (!t.contains("{}")) {
          throw new SettingsException(where + ": template without {}: " + t);
        }
      }
    }
  }
}

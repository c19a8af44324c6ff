package io.mmstream.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A named set of zero-shot labels and the prompt templates each label is put into ({@code {}} marks
 * the label), as in openai's prompt-engineering notebook.
 */
public record LabelSet(String name, List<String> labels, List<String> templates) {
  public static final String PLACEHOLDER = "{}";

  public LabelSet {
    labels = List.copyOf(labels);
    templates = List.copyOf(templates);
    if (labels.isEmpty()) {
      throw new IllegalArgumentException("label set '" + name + "' has no labels");
    }
    if (templates.isEmpty()) {
      throw new IllegalArgumentException("label set '" + name + "' has no templates");
    }
    for (String template : templates) {
      if (!template.contains(PLACEHOLDER)) {
        throw new IllegalArgumentException(
            "label set '" + name + "': template '" + template + "' has no " + PLACEHOLDER);
      }
    }
  }

  /** The prompts of one label, one per template. */
  public List<String> prompts(String label) {
    List<String> prompts = new ArrayList<>(templates.size());
    for (String template : templates) {
      prompts.add(template.replace(PLACEHOLDER, label));
    }
    return prompts;
  }

  /**
   * Label sets from a JSON object {@code {"name": {"labels": [...], "templates": [...]}, ...}}, in
   * file order.
   */
  public static Map<String, LabelSet> fromJson(JsonNode root) {
    if (!root.isObject()) {
      throw new IllegalArgumentException("label sets must be a JSON object of name -> {labels, templates}");
    }
    Map<String, LabelSet> sets = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : root.properties()) {
      sets.put(e.getKey(), new LabelSet(e.getKey(), strings(e.getValue(), "labels"), strings(e.getValue(), "templates")));
    }
    return sets;
  }

  public static Map<String, LabelSet> read(Path file) throws IOException {
    try {
      return fromJson(new ObjectMapper().readTree(file.toFile()));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  private static List<String> strings(JsonNode set, String field) {
    JsonNode array = set.get(field);
    if (array == null || !array.isArray()) {
      throw new IllegalArgumentException("'" + field + "' must be an array of strings");
    }
    List<String> values = new ArrayList<>();
    array.forEach(v -> values.add(v.asText()));
    return values;
  }
}

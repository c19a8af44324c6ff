package io.mmstream.serde;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * The record schemas as published for clients in any language ({@code schemas/avsc/} in the repository):
 * the code's current schemas without the attributes only the Java code generator reads
 * ({@code avro.java.string} and the {@code java-*} class hints), one {@code <Record>.avsc} each, and
 * {@code fingerprints.json} mapping each record's simple name to the fingerprint a single-object header
 * carries, as 16 hex digits of the 64-bit value. Dropping those attributes leaves the parsing canonical
 * form, hence the fingerprint, unchanged.
 */
public final class PublishedSchemas {

  public static final String FINGERPRINTS_FILE = "fingerprints.json";

  private static final Set<String> JAVA_ONLY_ATTRIBUTES =
      Set.of("avro.java.string", "java-class", "java-key-class", "java-element-class", "javaAnnotation");
  private static final ObjectMapper JSON = new ObjectMapper();

  private PublishedSchemas() {}

  /** The schema as language-neutral JSON (compact, for registries). */
  public static String neutralJson(Schema schema) {
    return neutralTree(schema).toString();
  }

  /** File name → content of every published file, as {@link #write} writes them. */
  public static Map<String, String> files() {
    Map<String, String> files = new LinkedHashMap<>();
    ObjectNode fingerprints = JSON.createObjectNode();
    for (Class<? extends SpecificRecord> type : SchemaStore.RECORD_TYPES) {
      Schema schema = SpecificData.get().getSchema(type);
      files.put(schema.getName() + ".avsc", pretty(neutralTree(schema)));
      fingerprints.put(schema.getName(), String.format("%016x", SchemaStore.fingerprint(schema)));
    }
    files.put(FINGERPRINTS_FILE, pretty(fingerprints));
    return files;
  }

  /** Writes {@link #files()} into {@code dir}. */
  public static void write(Path dir) {
    try {
      Files.createDirectories(dir);
      for (Map.Entry<String, String> f : files().entrySet()) {
        Files.writeString(dir.resolve(f.getKey()), f.getValue(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write schemas to " + dir, e);
    }
  }

  private static JsonNode neutralTree(Schema schema) {
    try {
      return neutral(JSON.readTree(schema.toString()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode neutral(JsonNode node) {
    if (node instanceof ArrayNode array) {
      ArrayNode out = JSON.createArrayNode();
      array.forEach(item -> out.add(neutral(item)));
      return out;
    }
    if (!(node instanceof ObjectNode object)) {
      return node;
    }
    ObjectNode out = JSON.createObjectNode();
    object.fields().forEachRemaining(e -> {
      if (!JAVA_ONLY_ATTRIBUTES.contains(e.getKey())) {
        out.set(e.getKey(), e.getKey().equals("default") ? e.getValue() : neutral(e.getValue()));
      }
    });
    // {"type":"string"} once its Java attribute is gone is just "string".
    if (out.size() == 1 && out.has("type") && out.get("type").isTextual()) {
      return TextNode.valueOf(out.get("type").asText());
    }
    return out;
  }

  private static String pretty(JsonNode node) {
    DefaultPrettyPrinter printer = new DefaultPrettyPrinter().withObjectIndenter(new DefaultIndenter("  ", "\n"));
    try {
      return JSON.writer(printer).writeValueAsString(node) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

package io.mmstream.serde;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.api.Test;

/** schemas/avsc, the schemas published for clients in other languages, cannot drift from the code's schemas. */
class PublishedSchemasTest {

  private static final String REGENERATE = "schemas/avsc is out of date with the code's schemas; regenerate it with"
      + " `bin/mmstream schemas --out schemas/avsc` (and keep the history rules: add fields only with defaults)";

  private static Path publishedDir() {
    return Path.of(System.getProperty("mmstream.fixtures")).getParent().resolve("schemas/avsc");
  }

  @Test
  void publishedFilesAreExactlyWhatTheCodeGenerates() throws Exception {
    Map<String, String> expected = PublishedSchemas.files();
    try (Stream<Path> files = Files.list(publishedDir())) {
      assertThat(files.map(p -> p.getFileName().toString())).as(REGENERATE)
          .containsExactlyInAnyOrderElementsOf(expected.keySet());
    }
    for (Map.Entry<String, String> f : expected.entrySet()) {
      assertThat(Files.readString(publishedDir().resolve(f.getKey()))).as(REGENERATE + " (%s)", f.getKey())
          .isEqualTo(f.getValue());
    }
  }

  @Test
  void everyPublishedSchemaIsLanguageNeutralAndHasTheCodesFingerprint() throws Exception {
    JsonNode fingerprints = new ObjectMapper().readTree(publishedDir().resolve(PublishedSchemas.FINGERPRINTS_FILE).toFile());
    assertThat(fingerprints.size()).isEqualTo(SchemaStore.RECORD_TYPES.size());
    for (var type : SchemaStore.RECORD_TYPES) {
      Schema code = SpecificData.get().getSchema(type);
      String text = Files.readString(publishedDir().resolve(code.getName() + ".avsc"));
      assertThat(text).as(code.getName()).doesNotContain("avro.java").doesNotContain("java-class");
      Schema published = new Schema.Parser().parse(text);
      assertThat(SchemaStore.fingerprint(published)).as(code.getName()).isEqualTo(SchemaStore.fingerprint(code));
      assertThat(fingerprints.path(code.getName()).asText()).as(code.getName())
          .matches("[0-9a-f]{16}")
          .isEqualTo(String.format("%016x", SchemaStore.fingerprint(code)));
    }
  }

  @Test
  void neutralJsonKeepsNonJavaAttributes() {
    Schema withProps = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":["
        + "{\"name\":\"s\",\"type\":{\"type\":\"string\",\"avro.java.string\":\"String\"}},"
        + "{\"name\":\"t\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
        + "{\"name\":\"u\",\"type\":{\"type\":\"string\",\"avro.java.string\":\"String\",\"x-origin\":\"a\"}}]}");
    assertThat(PublishedSchemas.neutralJson(withProps)).isEqualTo("{\"type\":\"record\",\"name\":\"R\",\"fields\":["
        + "{\"name\":\"s\",\"type\":\"string\"},"
        + "{\"name\":\"t\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
        + "{\"name\":\"u\",\"type\":{\"type\":\"string\",\"x-origin\":\"a\"}}]}");
  }
}

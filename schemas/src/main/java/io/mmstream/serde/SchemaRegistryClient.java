package io.mmstream.serde;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * The part of the Confluent Schema Registry REST API that the wire format needs: a schema by id, and the
 * id of a schema under a subject (registered, or looked up when it must already exist). Apicurio
 * Registry (under {@code /apis/ccompat/v7}) and Karapace serve the same API. Ids and schemas never
 * change once issued, so both are cached for the life of the client. Written against the JDK HTTP
 * client because Confluent's own client is not on Maven Central.
 */
public final class SchemaRegistryClient {

  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String baseUrl;
  private final boolean autoRegister;
  private final Duration timeout;
  private final HttpClient http;
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<String, Integer> idsBySubjectAndSchema = new ConcurrentHashMap<>();

  public SchemaRegistryClient(String baseUrl, boolean autoRegister, Duration timeout) {
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.autoRegister = autoRegister;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  public String baseUrl() {
    return baseUrl;
  }

  /** The schema the registry issued {@code id} for, or a {@link RegistryException} (refused: {@code 4xx}). */
  public Schema schemaById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode body = call(HttpRequest.newBuilder(uri("/schemas/ids/" + id)).GET(), "schema id " + id);
    String type = body.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO")) {
      throw new RegistryException("schema id " + id + " is a " + type + " schema, not Avro", true);
    }
    Schema schema = new Schema.Parser().parse(body.path("schema").asText());
    schemasById.put(id, schema);
    return schema;
  }

  /**
   * The id of {@code schemaJson} under {@code subject}: registered when auto-register is on (the registry
   * refuses a schema its compatibility rule forbids), otherwise looked up, failing if it is not there.
   */
  public int idFor(String subject, String schemaJson) {
    String cacheKey = subject + "\n" + schemaJson;
    Integer cached = idsBySubjectAndSchema.get(cacheKey);
    if (cached != null) {
      return cached;
    }
    String path = "/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8) + (autoRegister ? "/versions" : "");
    String body;
    try {
      body = JSON.writeValueAsString(Map.of("schema", schemaJson));
    } catch (IOException e) {
      throw new RegistryException("cannot write the registration request: " + e, false);
    }
    JsonNode answer = call(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body))
        .header("Content-Type", CONTENT_TYPE), (autoRegister ? "registering under " : "looking up under ") + subject);
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      throw new RegistryException("registry answered without an id for subject " + subject + ": " + answer, false);
    }
    idsBySubjectAndSchema.put(cacheKey, id);
    return id;
  }

  private URI uri(String path) {
    return URI.create(baseUrl + path);
  }

  private JsonNode call(HttpRequest.Builder request, String what) {
    HttpResponse<String> response;
    try {
      response = http.send(request.timeout(timeout).header("Accept", CONTENT_TYPE).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new RegistryException("Schema Registry at " + baseUrl + " did not answer (" + what + "): " + e, false);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException("interrupted while calling the Schema Registry (" + what + ")", false);
    }
    if (response.statusCode() / 100 != 2) {
      throw new RegistryException("Schema Registry at " + baseUrl + " refused " + what + ": HTTP "
          + response.statusCode() + " " + response.body(), response.statusCode() / 100 == 4);
    }
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new RegistryException("Schema Registry at " + baseUrl + " answered " + what + " with no JSON: "
          + response.body(), false);
    }
  }

  /**
   * A registry call that failed. {@link #refused()}: the registry answered 4xx (unknown id or subject,
   * incompatible or invalid schema), so asking again gives the same answer; otherwise it did not answer
   * usefully (down, 5xx) and a retry may succeed.
   */
  public static final class RegistryException extends RuntimeException {
    private final boolean refused;

    RegistryException(String message, boolean refused) {
      super(message);
      this.refused = refused;
    }

    public boolean refused() {
      return refused;
    }
  }
}

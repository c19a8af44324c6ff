package io.mmstream.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;

/**
 * A TEST STAND-IN for a Schema Registry, not a real one: the subset of the Confluent Schema Registry REST API
 * that mmstream and its clients call, in memory, with the registry's BACKWARD compatibility rule (a new
 * version must read the latest one). It exists because no real registry can run here: Confluent's is not
 * on Maven Central, Karapace is not packaged by Debian (and PyPI is unreachable), and Apicurio Registry's
 * releases do not resolve from Maven Central (2.6.13 and 3.3.3 depend on an apicurio-registry-schema-util-provider
 * version Central does not hold, 3.0.9's parent POM is missing, 2.4.2 needs org.everit.json.schema from JitPack)
 * and ship on Central only as a Quarkus library that needs its own Quarkus build before it can start.
 *
 * <p>Served: {@code POST /subjects/{s}/versions} (register; the same schema gets the same id),
 * {@code POST /subjects/{s}} (look up; 404 when absent), {@code GET /schemas/ids/{id}}, {@code GET /subjects}.
 * Errors carry Confluent's {@code error_code} and {@code message}.
 */
final class ConfluentRegistryTestServer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private record Version(int id, Schema schema) {}

  private final HttpServer server;
  private final Map<String, List<Version>> subjects = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();
  private final Map<Long, Integer> idByFingerprint = new ConcurrentHashMap<>();

  private ConfluentRegistryTestServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  static ConfluentRegistryTestServer start() throws IOException {
    return new ConfluentRegistryTestServer();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<String> subjects() {
    return List.copyOf(subjects.keySet());
  }

  private synchronized void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      try {
        route(exchange);
      } catch (RuntimeException e) {
        reply(exchange, 422, error(42201, "Invalid schema: " + e.getMessage()));
      }
    }
  }

  private void route(HttpExchange exchange) throws IOException {
    String[] parts = exchange.getRequestURI().getRawPath().split("/");
    String method = exchange.getRequestMethod();
    if (method.equals("GET") && parts.length == 4 && parts[1].equals("schemas") && parts[2].equals("ids")) {
      Schema schema = byId.get(Integer.parseInt(parts[3]));
      if (schema == null) {
        reply(exchange, 404, error(40403, "Schema " + parts[3] + " not found"));
      } else {
        reply(exchange, 200, Map.of("schema", schema.toString()));
      }
    } else if (method.equals("GET") && parts.length == 2 && parts[1].equals("subjects")) {
      reply(exchange, 200, subjects());
    } else if (method.equals("POST") && parts.length >= 3 && parts[1].equals("subjects")) {
      String subject = URLDecoder.decode(parts[2], StandardCharsets.UTF_8);
      JsonNode body = JSON.readTree(exchange.getRequestBody());
      Schema schema = new Schema.Parser().parse(body.path("schema").asText());
      if (parts.length == 4 && parts[3].equals("versions")) {
        register(exchange, subject, schema);
      } else {
        lookUp(exchange, subject, schema);
      }
    } else {
      reply(exchange, 404, error(404, "not served by this test stand-in: " + method + " " + exchange.getRequestURI()));
    }
  }

  private void register(HttpExchange exchange, String subject, Schema schema) throws IOException {
    List<Version> versions = subjects.computeIfAbsent(subject, s -> new ArrayList<>());
    long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
    for (Version v : versions) {
      if (SchemaNormalization.parsingFingerprint64(v.schema()) == fingerprint) {
        reply(exchange, 200, Map.of("id", v.id()));
        return;
      }
    }
    if (!versions.isEmpty()) {
      Schema latest = versions.get(versions.size() - 1).schema();
      var compatibility = SchemaCompatibility.checkReaderWriterCompatibility(schema, latest);
      if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
        reply(exchange, 409, error(409, "Schema being registered is incompatible with an earlier schema for subject \""
            + subject + "\": " + compatibility.getDescription()));
        return;
      }
    }
    int id = idByFingerprint.computeIfAbsent(fingerprint, f -> byId.size() + 1);
    byId.put(id, schema);
    versions.add(new Version(id, schema));
    reply(exchange, 200, Map.of("id", id));
  }

  private void lookUp(HttpExchange exchange, String subject, Schema schema) throws IOException {
    List<Version> versions = subjects.get(subject);
    if (versions == null) {
      reply(exchange, 404, error(40401, "Subject '" + subject + "' not found."));
      return;
    }
    long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
    for (int i = 0; i < versions.size(); i++) {
      if (SchemaNormalization.parsingFingerprint64(versions.get(i).schema()) == fingerprint) {
        reply(exchange, 200, Map.of("subject", subject, "id", versions.get(i).id(), "version", i + 1,
            "schema", versions.get(i).schema().toString()));
        return;
      }
    }
    reply(exchange, 404, error(40403, "Schema not found"));
  }

  private static Map<String, Object> error(int code, String message) {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("error_code", code);
    error.put("message", message);
    return error;
  }

  private static void reply(HttpExchange exchange, int status, Object body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}

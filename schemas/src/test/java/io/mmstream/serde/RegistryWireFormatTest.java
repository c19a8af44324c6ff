package io.mmstream.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.mmstream.schema.AcceptedImage;
import io.mmstream.schema.ImageEvent;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Confluent wire format against canned registry answers: id 1 is ImageEvent, 2 is unknown (404), 3 makes
 * the registry fail (500). The pipeline against a registry end to end: tests/PythonClientTest.
 */
class RegistryWireFormatTest {

  private HttpServer server;
  private final AtomicInteger registrations = new AtomicInteger();
  private SchemaRegistryClient registry;

  @BeforeEach
  void startRegistry() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    String schema = new ObjectMapper().writeValueAsString(
        Map.of("schema", PublishedSchemas.neutralJson(ImageEvent.getClassSchema())));
    server.createContext("/", exchange -> {
      String path = exchange.getRequestURI().getPath();
      int status;
      String body;
      if (path.equals("/schemas/ids/1")) {
        status = 200;
        body = schema;
      } else if (path.equals("/subjects/mm.images.v1-value/versions")) {
        registrations.incrementAndGet();
        status = 200;
        body = "{\"id\":1}";
      } else if (path.equals("/schemas/ids/3")) {
        status = 500;
        body = "{\"error_code\":50001,\"message\":\"store unavailable\"}";
      } else {
        status = 404;
        body = "{\"error_code\":40403,\"message\":\"Schema not found\"}";
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    server.start();
    registry = new SchemaRegistryClient("http://127.0.0.1:" + server.getAddress().getPort(), true,
        Duration.ofSeconds(5));
  }

  @AfterEach
  void stopRegistry() {
    server.stop(0);
  }

  @Test
  void writesMagicZeroAndTheRegisteredIdAndReadsItBack() {
    AvroSerde<ImageEvent> serde = new AvroSerdes(SchemaStore.standard(), registry, true).imageEvent();
    byte[] bytes = serde.serialize("mm.images.v1", AvroSerdeTest.event());
    assertThat(bytes).startsWith(0, 0, 0, 0, 1);
    assertThat(serde.deserialize("mm.images.v1", bytes)).isEqualTo(AvroSerdeTest.event());
    serde.serialize("mm.images.v1", AvroSerdeTest.event());
    assertThat(registrations).as("ids are cached").hasValue(1);
    // a single-object record is still read
    assertThat(serde.decode(AvroSerdes.standard().imageEvent().encode(AvroSerdeTest.event())))
        .isEqualTo(AvroSerdeTest.event());
    // internal records stay single-object
    byte[] internal = new AvroSerdes(SchemaStore.standard(), registry, true).acceptedImage().serialize(
        "mm.images.accepted.v1", new AcceptedImage(AvroSerdeTest.event(), "00", java.time.Instant.EPOCH));
    assertThat(internal).startsWith(0xC3, 0x01);
  }

  @Test
  void anIdTheRegistryRefusesIsUnknownSchemaButAFailingRegistryIsNotTheRecordsFault() {
    AvroSerde<ImageEvent> serde = new AvroSerdes(SchemaStore.standard(), registry, false).imageEvent();
    byte[] body = new AvroSerdes(SchemaStore.standard(), registry, true).imageEvent()
        .serialize("mm.images.v1", AvroSerdeTest.event());
    body[4] = 2;
    assertThatThrownBy(() -> serde.decode(body))
        .isInstanceOfSatisfying(MessageDecodeException.class, e -> {
          assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.UNKNOWN_SCHEMA);
          assertThat(e.header()).isEqualTo("0000000002");
        })
        .hasMessageContaining("schema id 2");
    body[4] = 3;
    assertThatThrownBy(() -> serde.decode(body))
        .isInstanceOfSatisfying(SchemaRegistryClient.RegistryException.class, e -> assertThat(e.refused()).isFalse());
  }

  @Test
  void aTruncatedRegistryBodyIsMalformed() {
    AvroSerde<ImageEvent> serde = new AvroSerdes(SchemaStore.standard(), registry, true).imageEvent();
    byte[] bytes = serde.serialize("mm.images.v1", AvroSerdeTest.event());
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 3);
    assertThatThrownBy(() -> serde.decode(truncated))
        .isInstanceOfSatisfying(MessageDecodeException.class,
            e -> assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.MALFORMED));
  }
}

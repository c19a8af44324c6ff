package io.mmstream.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.RequestedTasks;
import io.mmstream.schema.TagTask;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AvroSerdeTest {

  private final AvroSerde<ImageEvent> serde = AvroSerdes.standard().imageEvent();

  static ImageEvent event() {
    return ImageEvent.newBuilder()
        .setEventId("e-1").setImageId("img-1").setTenant("acme")
        .setSource(new InlineImage(ByteBuffer.wrap(new byte[] {1, 2, 3})))
        .setContentType("image/png")
        .setTasks(RequestedTasks.newBuilder()
            .setTag(TagTask.newBuilder().setLabelSet("animals").build())
            .setCaption(new CaptionTask(null)).build())
        .setMetadata(Map.of("k", "v"))
        .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L))
        .build();
  }

  /** The current ImageEvent schema with one field added, with a default: a compatible "v2". */
  static Schema imageEventV2() {
    Schema v1 = ImageEvent.getClassSchema();
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field f : v1.getFields()) {
      fields.add(new Schema.Field(f, f.schema()));
    }
    fields.add(new Schema.Field("priority", Schema.create(Schema.Type.INT), "added in v2", 3));
    return Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
  }

  @Test
  void roundTripsWithSingleObjectHeader() {
    byte[] bytes = serde.serialize("t", event());
    assertThat(bytes[0]).isEqualTo((byte) 0xC3);
    assertThat(bytes[1]).isEqualTo((byte) 0x01);
    assertThat(AvroSerde.fingerprintText(bytes))
        .isEqualTo(String.format("%016x", SchemaStore.fingerprint(ImageEvent.getClassSchema())));
    assertThat(serde.deserialize("t", bytes)).isEqualTo(event());
    ImageEvent withUri = ImageEvent.newBuilder(event()).setSource(new ImageUri("https://example.com/a.png")).build();
    assertThat(serde.decode(serde.encode(withUri))).isEqualTo(withUri);
  }

  @Test
  void oldWriterNewReaderFillsTheDefault() throws Exception {
    Schema v2 = imageEventV2();
    SchemaStore store = SchemaStore.empty().register(ImageEvent.getClassSchema());
    BinaryMessageDecoder<GenericRecord> newReader = new BinaryMessageDecoder<>(GenericData.get(), v2, store);

    GenericRecord decoded = newReader.decode(serde.encode(event()), null);

    assertThat(decoded.get("priority")).isEqualTo(3);
    assertThat(decoded.get("eventId").toString()).isEqualTo("e-1");
  }

  @Test
  void newWriterOldReaderWhenTheNewSchemaIsDeployed(@TempDir Path dir) throws Exception {
    Schema v2 = imageEventV2();
    GenericRecord asV2 = new BinaryMessageDecoder<GenericRecord>(GenericData.get(), v2, SchemaStore.standard())
        .decode(serde.encode(event()), null);
    asV2.put("priority", 7);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v2).encode(asV2, out);
    byte[] v2Bytes = out.toByteArray();

    Files.writeString(dir.resolve("ImageEvent-v2.avsc"), v2.toString(true));
    AvroSerde<ImageEvent> oldReader = new AvroSerdes(SchemaStore.withExtraDirectory(dir.toString())).imageEvent();
    assertThat(oldReader.decode(v2Bytes)).isEqualTo(event());

    assertThatThrownBy(() -> serde.decode(v2Bytes))
        .isInstanceOfSatisfying(MessageDecodeException.class,
            e -> assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.UNKNOWN_SCHEMA))
        .hasMessageContaining(String.format("%016x", SchemaStore.fingerprint(v2)));
  }

  @Test
  void unknownFingerprintNamesTheHeaderAndTheKnownFingerprints() {
    byte[] bytes = serde.encode(event());
    bytes[2] ^= 0x01;
    assertThatThrownBy(() -> serde.decode(bytes))
        .isInstanceOfSatisfying(MessageDecodeException.class, e -> {
          assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.UNKNOWN_SCHEMA);
          assertThat(e.header()).isEqualTo(java.util.HexFormat.of().formatHex(bytes, 0, 10));
          assertThat(e.knownFingerprints())
              .containsExactlyElementsOf(SchemaStore.standard().fingerprintsOf(ImageEvent.getClassSchema().getFullName()))
              .contains(String.format("%016x", SchemaStore.fingerprint(ImageEvent.getClassSchema())));
        });
  }

  @Test
  void registryFormatWithoutARegistryIsABadHeaderNamingTheSchemaId() {
    byte[] bytes = {0, 0, 0, 1, 2, 4, 'a', 'b'};
    assertThatThrownBy(() -> serde.decode(bytes))
        .isInstanceOfSatisfying(MessageDecodeException.class, e -> {
          assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.BAD_HEADER);
          assertThat(e.header()).isEqualTo("0000000102");
        })
        .hasMessageContaining("schema id 258");
  }

  @Test
  void garbageGivesBadHeader() {
    for (byte[] garbage : List.of(new byte[0], "hello".getBytes(), "{\"json\": true, \"x\": 1}".getBytes())) {
      assertThatThrownBy(() -> serde.decode(garbage))
          .isInstanceOfSatisfying(MessageDecodeException.class,
              e -> assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.BAD_HEADER))
          .hasMessageContaining("ImageEvent");
    }
  }

  @Test
  void truncatedOrCorruptBodyGivesMalformed() {
    byte[] good = serde.encode(event());
    byte[] truncated = java.util.Arrays.copyOf(good, good.length - 5);
    assertThatThrownBy(() -> serde.decode(truncated))
        .isInstanceOfSatisfying(MessageDecodeException.class,
            e -> assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.MALFORMED));

    // a valid header followed by a string length of about 2^31: refused, not allocated
    byte[] huge = java.util.Arrays.copyOf(good, 16);
    byte[] len = {(byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
    System.arraycopy(len, 0, huge, 10, len.length);
    assertThatThrownBy(() -> serde.decode(huge))
        .isInstanceOfSatisfying(MessageDecodeException.class,
            e -> assertThat(e.reasonCode()).isEqualTo(MessageDecodeException.MALFORMED));
  }

  @Test
  void randomCorruptionNeverEscapesAsAnotherException() {
    byte[] good = serde.encode(event());
    Random random = new Random(42);
    int rejected = 0;
    for (int i = 0; i < 3000; i++) {
      byte[] bad = good.clone();
      int flips = 1 + random.nextInt(4);
      for (int f = 0; f < flips; f++) {
        bad[10 + random.nextInt(bad.length - 10)] = (byte) random.nextInt(256);
      }
      try {
        serde.decode(bad);
      } catch (MessageDecodeException e) {
        rejected++;
      }
    }
    assertThat(rejected).isPositive();
  }
}

package io.mmstream.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for one generated record type. Reads two wire formats: Avro single-object encoding
 * ({@code C3 01}, the writer schema's 8-byte fingerprint, little endian, then the Avro binary body), whose
 * writer schema it finds in a {@link SchemaStore}; and, when a Schema Registry is configured, the
 * Confluent wire format (byte {@code 00}, the 4-byte big-endian schema id, then the body), whose writer
 * schema it fetches from the registry by id. Either way the writer schema is resolved to this type's
 * schema, so records written by older or newer producers decode. Writes single-object encoding, or the
 * registry format when built for it ({@link #serialize} registers or looks up the schema under the
 * subject {@code <topic>-value}). Every failure of the bytes is a {@link MessageDecodeException} naming
 * the type and the header; a registry that cannot be reached is a
 * {@link SchemaRegistryClient.RegistryException} (the record is not at fault: retry, do not dead-letter).
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {

  static {
    // Garbage bodies can announce a 2 GiB string or array; Avro allocates before it reads. No valid
    // record here holds more than a topic's largest message, so cap lengths well below the heap.
    limitIfUnset("org.apache.avro.limits.bytes.maxLength", 64L << 20);
    limitIfUnset("org.apache.avro.limits.string.maxLength", 64L << 20);
    limitIfUnset("org.apache.avro.limits.collectionItems.maxLength", 16L << 20);
    // Avro instantiates only trusted classes by name; the generated wire-format classes are ours.
    ClassSecurityValidator.ClassSecurityPredicate previous = ClassSecurityValidator.getGlobal();
    ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(
        previous, type -> type.getName().startsWith("io.mmstream.schema.")));
  }

  private static final int HEADER_LENGTH = 10;
  private static final byte SINGLE_OBJECT_MARKER = (byte) 0xC3;
  private static final byte REGISTRY_MAGIC = 0;
  private static final int REGISTRY_HEADER_LENGTH = 5;

  private final Class<T> type;
  private final Schema schema;
  private final SpecificData model;
  private final SchemaStore store;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;
  private final SchemaRegistryClient registry;
  private final boolean writeRegistryFormat;
  private final String registeredSchemaJson;
  private final Map<Integer, SpecificDatumReader<T>> readersByRegistryId = new ConcurrentHashMap<>();

  /** Reads and writes single-object encoding only. */
  public AvroSerde(Class<T> type, SchemaStore store) {
    this(type, store, null, false);
  }

  /**
   * @param registry null: registry-format records are refused as {@code BAD_HEADER}
   * @param writeRegistryFormat write the Confluent wire format (needs a registry) instead of single-object encoding
   */
  public AvroSerde(Class<T> type, SchemaStore store, SchemaRegistryClient registry, boolean writeRegistryFormat) {
    if (writeRegistryFormat && registry == null) {
      throw new IllegalArgumentException("the registry wire format needs a Schema Registry");
    }
    this.type = type;
    this.model = SpecificData.getForClass(type);
    this.schema = model.getSchema(type);
    this.store = store;
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema, store);
    this.registry = registry;
    this.writeRegistryFormat = writeRegistryFormat;
    // what a registry stores: the language-neutral schema, so that other clients registering the published
    // .avsc get the same id (only computed where it is written: serdes are cheap to create otherwise)
    this.registeredSchemaJson = registry == null ? null : PublishedSchemas.neutralJson(schema);
  }

  public Schema schema() {
    return schema;
  }

  /** Single-object encoding of {@code record}. */
  public byte[] encode(T record) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try {
      encoder.encode(record, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** The registry wire format of {@code record}, with the id of this type's schema under {@code subject}. */
  public byte[] encodeForRegistry(String subject, T record) {
    int id = registry.idFor(subject, registeredSchemaJson);
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.write(REGISTRY_MAGIC);
    out.writeBytes(ByteBuffer.allocate(4).putInt(id).array());
    BinaryEncoder body = EncoderFactory.get().directBinaryEncoder(out, null);
    try {
      new SpecificDatumWriter<T>(schema, model).write(record, body);
      body.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** The record in {@code bytes} (either wire format), or a {@link MessageDecodeException} saying why not. */
  public T decode(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      throw new MessageDecodeException(MessageDecodeException.BAD_HEADER,
          "cannot decode " + type.getSimpleName() + ": " + (bytes == null ? "no bytes" : "0 bytes"), null, null,
          List.of());
    }
    if (bytes[0] == REGISTRY_MAGIC) {
      return decodeRegistryFormat(bytes);
    }
    String header = headerText(bytes, HEADER_LENGTH);
    if (bytes.length < HEADER_LENGTH || bytes[0] != SINGLE_OBJECT_MARKER) {
      throw new MessageDecodeException(MessageDecodeException.BAD_HEADER,
          "cannot decode " + type.getSimpleName() + ": neither Avro single-object encoding (c301 + 8-byte"
              + " fingerprint) nor the Schema Registry wire format (00 + 4-byte schema id); header seen " + header
              + " (" + bytes.length + " bytes)", null, header, List.of());
    }
    try {
      return decoder.decode(bytes);
    } catch (MissingSchemaException e) {
      List<String> known = store.fingerprintsOf(schema.getFullName());
      throw new MessageDecodeException(MessageDecodeException.UNKNOWN_SCHEMA,
          "cannot decode " + type.getSimpleName() + ": unknown writer schema fingerprint " + fingerprintText(bytes)
              + " (header " + header + "); this reader knows " + known + " for " + schema.getName()
              + ". A client that wrote the current schema computed its fingerprint wrongly: take it from"
              + " schemas/avsc/fingerprints.json (16 hex digits, written little endian after c301). A newer"
              + " schema: deploy its .avsc to mmstream.schemas.extra-path", e, header, known);
    } catch (BadHeaderException e) {
      throw new MessageDecodeException(MessageDecodeException.BAD_HEADER,
          "cannot decode " + type.getSimpleName() + ": not Avro single-object encoding (header seen " + header
              + ", expected c301 + 8-byte fingerprint)", e, header, List.of());
    } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | IllegalArgumentException
        | ClassCastException | NegativeArraySizeException | UnsupportedOperationException e) {
      throw new MessageDecodeException(MessageDecodeException.MALFORMED,
          "cannot decode " + type.getSimpleName() + " written with schema fingerprint " + fingerprintText(bytes)
              + ": " + e, e, header, List.of());
    }
  }

  private T decodeRegistryFormat(byte[] bytes) {
    String header = headerText(bytes, REGISTRY_HEADER_LENGTH);
    if (bytes.length < REGISTRY_HEADER_LENGTH) {
      throw new MessageDecodeException(MessageDecodeException.BAD_HEADER, "cannot decode " + type.getSimpleName()
          + ": " + bytes.length + " bytes is shorter than the registry wire format header (00 + 4-byte schema id)",
          null, header, List.of());
    }
    int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
    if (registry == null) {
      throw new MessageDecodeException(MessageDecodeException.BAD_HEADER, "cannot decode " + type.getSimpleName()
          + ": Schema Registry wire format (schema id " + id + ", header " + header + ") but no registry is"
          + " configured (" + SchemaSettings.REGISTRY_URL.key() + ")", null, header, List.of());
    }
    SpecificDatumReader<T> reader = readersByRegistryId.get(id);
    if (reader == null) {
      Schema writer;
      try {
        writer = registry.schemaById(id);
      } catch (SchemaRegistryClient.RegistryException e) {
        if (!e.refused()) {
          throw e;
        }
        throw new MessageDecodeException(MessageDecodeException.UNKNOWN_SCHEMA, "cannot decode "
            + type.getSimpleName() + ": the Schema Registry at " + registry.baseUrl() + " has no Avro schema id " + id
            + " (header " + header + "): " + e.getMessage(), e, header, List.of());
      } catch (AvroRuntimeException e) {
        throw new MessageDecodeException(MessageDecodeException.MALFORMED, "cannot decode " + type.getSimpleName()
            + ": the registry's schema id " + id + " does not parse: " + e, e, header, List.of());
      }
      reader = new SpecificDatumReader<>(writer, schema, model);
      readersByRegistryId.put(id, reader);
    }
    try {
      BinaryDecoder body = DecoderFactory.get().binaryDecoder(bytes, REGISTRY_HEADER_LENGTH,
          bytes.length - REGISTRY_HEADER_LENGTH, null);
      T record = reader.read(null, body);
      if (!body.isEnd()) {
        throw new IOException((bytes.length - REGISTRY_HEADER_LENGTH) + "-byte body has bytes after the record");
      }
      return record;
    } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | IllegalArgumentException
        | ClassCastException | NegativeArraySizeException | UnsupportedOperationException e) {
      throw new MessageDecodeException(MessageDecodeException.MALFORMED,
          "cannot decode " + type.getSimpleName() + " written with registry schema id " + id + ": " + e, e, header,
          List.of());
    }
  }

  private static String headerText(byte[] bytes, int length) {
    return HexFormat.of().formatHex(bytes, 0, Math.min(length, bytes.length));
  }

  /** The writer-schema fingerprint in a single-object header, as 16 hex digits. */
  public static String fingerprintText(byte[] bytes) {
    if (bytes == null || bytes.length < HEADER_LENGTH) {
      return "(none)";
    }
    long fp = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    return String.format("%016x", fp);
  }

  @Override
  public byte[] serialize(String topic, T data) {
    if (data == null) {
      return null;
    }
    return writeRegistryFormat ? encodeForRegistry(topic + "-value", data) : encode(data);
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    return data == null ? null : decode(data);
  }

  @Override
  public Serializer<T> serializer() {
    return this;
  }

  @Override
  public Deserializer<T> deserializer() {
    return this;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {}

  @Override
  public void close() {}

  private static void limitIfUnset(String property, long value) {
    if (System.getProperty(property) == null) {
      System.setProperty(property, Long.toString(value));
    }
  }
}

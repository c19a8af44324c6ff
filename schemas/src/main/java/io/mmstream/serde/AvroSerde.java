package io.mmstream.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for one generated record type with Avro single-object encoding: {@code C3 01}, the
 * writer schema's 8-byte fingerprint (little endian), then the Avro binary body. Decoding finds the
 * writer schema in a {@link SchemaStore} and resolves it to this type's schema, so records written by
 * older or newer producers decode. Every failure is a {@link MessageDecodeException} naming the type
 * and the fingerprint; nothing else escapes.
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

  private final Class<T> type;
  private final Schema schema;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;

  public AvroSerde(Class<T> type, SchemaStore store) {
    this.type = type;
    SpecificData model = SpecificData.getForClass(type);
    this.schema = model.getSchema(type);
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema, store);
  }

  public Schema schema() {
    return schema;
  }

  public byte[] encode(T record) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try {
      encoder.encode(record, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** The record in {@code bytes}, or a {@link MessageDecodeException} saying why not. */
  public T decode(byte[] bytes) {
    if (bytes == null || bytes.length < HEADER_LENGTH) {
      throw new MessageDecodeException(MessageDecodeException.BAD_HEADER,
          "cannot decode " + type.getSimpleName() + ": " + (bytes == null ? "no bytes" : bytes.length + " bytes")
              + " is shorter than the single-object header", null);
    }
    try {
      return decoder.decode(bytes);
    } catch (MissingSchemaException e) {
      throw new MessageDecodeException(MessageDecodeException.UNKNOWN_SCHEMA,
          "cannot decode " + type.getSimpleName() + ": unknown writer schema fingerprint " + fingerprintText(bytes)
              + " (deploy its .avsc to mmstream.schemas.extra-path)", e);
    } catch (BadHeaderException e) {
      throw new MessageDecodeException(MessageDecodeException.BAD_HEADER,
          "cannot decode " + type.getSimpleName() + ": not Avro single-object encoding (first bytes "
              + HexFormat.of().formatHex(bytes, 0, 2) + ", expected c301)", e);
    } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | IllegalArgumentException
        | ClassCastException | NegativeArraySizeException | UnsupportedOperationException e) {
      throw new MessageDecodeException(MessageDecodeException.MALFORMED,
          "cannot decode " + type.getSimpleName() + " written with schema fingerprint " + fingerprintText(bytes)
              + ": " + e, e);
    }
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
    return data == null ? null : encode(data);
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

package io.mmstream.worker;

import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import org.apache.avro.util.ClassSecurityValidator;

/**
 * The worker's topic names and record encoding, kept in one place so the shared topic registry and
 * serdes can replace them. Values use Avro single-object encoding (the generated classes'
 * {@code toByteBuffer}/{@code fromByteBuffer}); keys are UTF-8 strings.
 */
public final class WorkerTopics {
  public static final String RESULTS = "mm.results.v1";
  public static final String DEAD_LETTERS = "mm.dlq.v1";

  static {
    // Avro instantiates only trusted classes by name (record defaults such as TaskOutputs.labels
    // need it); the generated wire-format classes are ours. The shared AvroSerde does the same.
    ClassSecurityValidator.ClassSecurityPredicate previous = ClassSecurityValidator.getGlobal();
    ClassSecurityValidator.setGlobal(
        ClassSecurityValidator.composite(previous, type -> type.getName().startsWith("io.mmstream.schema.")));
  }

  private WorkerTopics() {}

  /** Makes sure the static initialiser above has run before a model builds any wire record. */
  public static void trustWireClasses() {}

  public static String taskTopic(ModelKind kind) {
    return switch (kind) {
      case CLIP -> "mm.tasks.tag.v1";
      case CAPTION -> "mm.tasks.caption.v1";
      case VQA -> "mm.tasks.vqa.v1";
    };
  }

  /** Results are keyed by event id so every result of one image lands in the same partition. */
  public static String resultKey(TaskResult result) {
    return result.getEventId();
  }

  public static String deadLetterKey(DeadLetter letter) {
    return letter.getTaskId() != null ? letter.getTaskId() : "";
  }

  public static TaskRequest decodeTask(byte[] value) throws IOException {
    return TaskRequest.fromByteBuffer(ByteBuffer.wrap(value));
  }

  public static byte[] encodeTask(TaskRequest request) {
    return bytes(() -> request.toByteBuffer());
  }

  public static TaskResult decodeResult(byte[] value) throws IOException {
    return TaskResult.fromByteBuffer(ByteBuffer.wrap(value));
  }

  public static byte[] encodeResult(TaskResult result) {
    return bytes(() -> result.toByteBuffer());
  }

  public static DeadLetter decodeDeadLetter(byte[] value) throws IOException {
    return DeadLetter.fromByteBuffer(ByteBuffer.wrap(value));
  }

  public static byte[] encodeDeadLetter(DeadLetter letter) {
    return bytes(() -> letter.toByteBuffer());
  }

  private interface Encoding {
    ByteBuffer encode() throws IOException;
  }

  private static byte[] bytes(Encoding encoding) {
    try {
      ByteBuffer buffer = encoding.encode();
      byte[] out = new byte[buffer.remaining()];
      buffer.get(out);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

package io.mmstream.stream;

import io.mmstream.schema.DeadLetter;
import io.mmstream.serde.MessageDecodeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/** Builds dead-letter entries for the record a processor is working on: where it came from, and why it failed. */
final class DeadLetters {

  static final String STAGE_DESERIALIZE = "deserialize";
  static final String STAGE_VALIDATE = "validate";
  static final String STAGE_JOIN = "join";

  private final String application;
  private final StreamMetrics metrics;
  private final int originalMaxBytes;

  /** @param originalMaxBytes larger originals are left out: the dead letter must itself fit in a record */
  DeadLetters(String application, StreamMetrics metrics, int originalMaxBytes) {
    this.application = application;
    this.metrics = metrics;
    this.originalMaxBytes = originalMaxBytes;
  }

  DeadLetter of(ProcessorContext<?, ?> context, Record<byte[], byte[]> original, String stage, String reasonCode,
      String message, String eventId, String tenant, String taskId) {
    metrics.recordDeadLetter(stage, reasonCode);
    DeadLetter.Builder b = DeadLetter.newBuilder()
        .setStage(stage)
        .setReasonCode(reasonCode)
        .setMessage(message)
        .setOriginalBytes(kept(original.value()))
        .setOriginalKey(kept(original.key()))
        .setEventId(eventId)
        .setTenant(tenant)
        .setTaskId(taskId)
        .setApplication(application)
        .setFailedAt(Instant.ofEpochMilli(context.currentSystemTimeMs()));
    context.recordMetadata().ifPresent(m -> b.setOriginalTopic(m.topic()).setOriginalPartition(m.partition())
        .setOriginalOffset(m.offset()));
    return b.build();
  }

  /**
   * The dead letter of a record that did not decode: reason, header seen and, for an unknown fingerprint, the
   * fingerprints this reader knows, so a producer can tell a wrongly computed fingerprint from a new schema.
   */
  DeadLetter undecodable(ProcessorContext<?, ?> context, Record<byte[], byte[]> original, MessageDecodeException e) {
    DeadLetter letter = of(context, original, STAGE_DESERIALIZE, e.reasonCode(), e.getMessage(), null, null, null);
    letter.setOriginalHeader(e.header());
    letter.setKnownFingerprints(e.knownFingerprints());
    return letter;
  }

  /** The key a dead letter of an undecodable record is written with: the original key as text, if any. */
  static String originalKeyText(Record<byte[], byte[]> original) {
    return original.key() == null ? null : new String(original.key(), StandardCharsets.UTF_8);
  }

  private ByteBuffer kept(byte[] original) {
    return original == null || original.length > originalMaxBytes ? null : ByteBuffer.wrap(original);
  }
}

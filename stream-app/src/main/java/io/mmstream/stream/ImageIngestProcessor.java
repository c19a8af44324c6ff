package io.mmstream.stream;

import io.mmstream.schema.AcceptedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.MessageDecodeException;
import java.time.Instant;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes and validates raw ImageEvents. Valid ones go on keyed by tenant/contentHash (the
 * partitioning of the join and the repost cache); oversized, undecodable or invalid ones become dead
 * letters, exactly one per record. A validator bug on some input also becomes a dead letter
 * ({@code VALIDATION_ERROR}, logged with its stack trace) instead of stopping the stream thread.
 */
final class ImageIngestProcessor implements Processor<byte[], byte[], String, SpecificRecord> {

  private final ImageEventValidator validator;
  private final AvroSerde<ImageEvent> serde;
  private final DeadLetters deadLetters;
  static final String EVENT_TOO_LARGE = "EVENT_TOO_LARGE";
  static final String VALIDATION_ERROR = "VALIDATION_ERROR";
  private static final Logger LOG = LoggerFactory.getLogger(ImageIngestProcessor.class);

  private final StreamMetrics metrics;
  private final int maxEventBytes;
  private ProcessorContext<String, SpecificRecord> context;

  ImageIngestProcessor(ImageEventValidator validator, AvroSerde<ImageEvent> serde, DeadLetters deadLetters,
      StreamMetrics metrics, int maxEventBytes) {
    this.validator = validator;
    this.serde = serde;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.maxEventBytes = maxEventBytes;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    metrics.recordImage();
    if (record.value() != null && record.value().length > maxEventBytes) {
      deadLetter(record, DeadLetters.originalKeyText(record), DeadLetters.STAGE_DESERIALIZE, EVENT_TOO_LARGE,
          "record of " + record.value().length + " bytes, over mmstream.validate.max-event-bytes=" + maxEventBytes,
          null, null);
      return;
    }
    ImageEvent event;
    try {
      event = serde.decode(record.value());
    } catch (MessageDecodeException e) {
      context.forward(record.withKey(DeadLetters.originalKeyText(record))
          .withValue(deadLetters.undecodable(context, record, e)), EnrichmentTopology.DLQ_SINK);
      return;
    }
    Validation validation;
    try {
      validation = validator.validate(event);
    } catch (RuntimeException e) {
      LOG.error("validating event {} failed unexpectedly; dead-lettered", event.getEventId(), e);
      validation = new Validation.Invalid(VALIDATION_ERROR, "validation failed: " + e);
    }
    if (validation instanceof Validation.Invalid invalid) {
      deadLetter(record, event.getEventId(), DeadLetters.STAGE_VALIDATE, invalid.reasonCode(), invalid.message(),
          event.getEventId(), event.getTenant());
      return;
    }
    Validation.Valid valid = (Validation.Valid) validation;
    AcceptedImage accepted = new AcceptedImage(valid.event(), valid.contentHash(),
        Instant.ofEpochMilli(context.currentSystemTimeMs()));
    context.forward(record.withKey(contentKey(event.getTenant(), valid.contentHash())).withValue(accepted),
        EnrichmentTopology.ACCEPTED_SINK);
  }

  private void deadLetter(Record<byte[], byte[]> record, String key, String stage, String reason, String message,
      String eventId, String tenant) {
    context.forward(record.withKey(key).withValue(deadLetters.of(context, record, stage, reason, message, eventId,
        tenant, null)), EnrichmentTopology.DLQ_SINK);
  }

  /** The key of accepted images, task requests and task results: tenant/contentHash. */
  static String contentKey(String tenant, String contentHash) {
    return tenant + "/" + contentHash;
  }
}

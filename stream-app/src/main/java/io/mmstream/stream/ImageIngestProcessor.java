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

/**
 * Decodes and validates raw ImageEvents. Valid ones go on keyed by tenant/contentHash (the
 * partitioning of the join and the repost cache); undecodable or invalid ones become dead letters.
 */
final class ImageIngestProcessor implements Processor<byte[], byte[], String, SpecificRecord> {

  private final ImageEventValidator validator;
  private final AvroSerde<ImageEvent> serde;
  private final DeadLetters deadLetters;
  private final StreamMetrics metrics;
  private ProcessorContext<String, SpecificRecord> context;

  ImageIngestProcessor(ImageEventValidator validator, AvroSerde<ImageEvent> serde, DeadLetters deadLetters,
      StreamMetrics metrics) {
    this.validator = validator;
    this.serde = serde;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    metrics.recordImage();
    ImageEvent event;
    try {
      event = serde.decode(record.value());
    } catch (MessageDecodeException e) {
      context.forward(record.withKey((String) null).withValue(deadLetters.of(context, record,
          DeadLetters.STAGE_DESERIALIZE, e.reasonCode(), e.getMessage(), null, null, null)),
          EnrichmentTopology.DLQ_SINK);
      return;
    }
    Validation validation = validator.validate(event);
    if (validation instanceof Validation.Invalid invalid) {
      context.forward(record.withKey(event.getEventId()).withValue(deadLetters.of(context, record,
          DeadLetters.STAGE_VALIDATE, invalid.reasonCode(), invalid.message(), event.getEventId(), event.getTenant(),
          null)), EnrichmentTopology.DLQ_SINK);
      return;
    }
    Validation.Valid valid = (Validation.Valid) validation;
    AcceptedImage accepted = new AcceptedImage(valid.event(), valid.contentHash(),
        Instant.ofEpochMilli(context.currentSystemTimeMs()));
    context.forward(record.withKey(contentKey(event.getTenant(), valid.contentHash())).withValue(accepted),
        EnrichmentTopology.ACCEPTED_SINK);
  }

  /** The key of accepted images, task requests and task results: tenant/contentHash. */
  static String contentKey(String tenant, String contentHash) {
    return tenant + "/" + contentHash;
  }
}

package io.mmstream.serde;

import io.mmstream.schema.AcceptedImage;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ModerationDecision;
import io.mmstream.schema.PendingEnrichment;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;

/**
 * One serde per record type, all sharing one {@link SchemaStore}. (Named apart from Kafka's
 * {@code Serdes}, which topologies use alongside for keys and raw bytes.)
 */
public final class AvroSerdes {

  private final SchemaStore store;

  public AvroSerdes(SchemaStore store) {
    this.store = store;
  }

  /** Serdes over the generated records' current and historical schemas. */
  public static AvroSerdes standard() {
    return new AvroSerdes(SchemaStore.standard());
  }

  public SchemaStore store() {
    return store;
  }

  public AvroSerde<ImageEvent> imageEvent() {
    return new AvroSerde<>(ImageEvent.class, store);
  }

  public AvroSerde<TaskRequest> taskRequest() {
    return new AvroSerde<>(TaskRequest.class, store);
  }

  public AvroSerde<TaskResult> taskResult() {
    return new AvroSerde<>(TaskResult.class, store);
  }

  public AvroSerde<EnrichedImage> enrichedImage() {
    return new AvroSerde<>(EnrichedImage.class, store);
  }

  public AvroSerde<ModerationDecision> moderationDecision() {
    return new AvroSerde<>(ModerationDecision.class, store);
  }

  public AvroSerde<DeadLetter> deadLetter() {
    return new AvroSerde<>(DeadLetter.class, store);
  }

  public AvroSerde<AcceptedImage> acceptedImage() {
    return new AvroSerde<>(AcceptedImage.class, store);
  }

  public AvroSerde<PendingEnrichment> pendingEnrichment() {
    return new AvroSerde<>(PendingEnrichment.class, store);
  }

  public AvroSerde<ChatTask> chatTask() {
    return new AvroSerde<>(ChatTask.class, store);
  }

  public AvroSerde<ChatReply> chatReply() {
    return new AvroSerde<>(ChatReply.class, store);
  }
}

package io.mmstream.serde;

import io.mmstream.config.Settings;
import io.mmstream.schema.AcceptedImage;
import io.mmstream.schema.ChatMessage;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.ConversationState;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ModerationDecision;
import io.mmstream.schema.PendingEnrichment;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import java.time.Duration;
import java.util.Locale;

/**
 * One serde per record type, all sharing one {@link SchemaStore} and, when configured, one Schema
 * Registry. (Named apart from Kafka's {@code Serdes}, which topologies use alongside for keys and raw
 * bytes.) Every serde reads both wire formats (the registry one only with a registry). The records other
 * applications exchange with the pipeline (ImageEvent, EnrichedImage, ModerationDecision, DeadLetter) are
 * written in the configured format; the pipeline's internal records (accepted images, task requests and
 * results, state) always in single-object encoding, so workers and state stores need no registry.
 */
public final class AvroSerdes {

  /** {@code mmstream.schemas.wire-format} values. */
  public static final String SINGLE_OBJECT = "single-object";
  public static final String REGISTRY = "registry";

  private final SchemaStore store;
  private final SchemaRegistryClient registry;
  private final boolean writeRegistryFormat;

  public AvroSerdes(SchemaStore store) {
    this(store, null, false);
  }

  /** @param registry null: none (registry-format records are refused) */
  public AvroSerdes(SchemaStore store, SchemaRegistryClient registry, boolean writeRegistryFormat) {
    if (writeRegistryFormat && registry == null) {
      throw new IllegalArgumentException(SchemaSettings.WIRE_FORMAT.key() + "=" + REGISTRY + " needs "
          + SchemaSettings.REGISTRY_URL.key());
    }
    this.store = store;
    this.registry = registry;
    this.writeRegistryFormat = writeRegistryFormat;
  }

  /** Serdes over the generated records' current and historical schemas, single-object encoding only. */
  public static AvroSerdes standard() {
    return new AvroSerdes(SchemaStore.standard());
  }

  /** Serdes as the settings say: extra schemas, registry, wire format of the exchanged records. */
  public static AvroSerdes from(Settings settings) {
    SchemaStore store = SchemaStore.withExtraDirectory(settings.get(SchemaSettings.EXTRA_PATH));
    String url = settings.get(SchemaSettings.REGISTRY_URL).strip();
    SchemaRegistryClient registry = url.isEmpty() ? null : new SchemaRegistryClient(url,
        settings.get(SchemaSettings.REGISTRY_AUTO_REGISTER),
        Duration.ofMillis(settings.get(SchemaSettings.REGISTRY_TIMEOUT_MS)));
    String format = settings.get(SchemaSettings.WIRE_FORMAT).strip().toLowerCase(Locale.ROOT);
    if (!format.equals(SINGLE_OBJECT) && !format.equals(REGISTRY)) {
      throw new IllegalArgumentException(SchemaSettings.WIRE_FORMAT.key() + " must be " + SINGLE_OBJECT + " or "
          + REGISTRY + ", not " + format);
    }
    return new AvroSerdes(store, registry, format.equals(REGISTRY));
  }

  public SchemaStore store() {
    return store;
  }

  public AvroSerde<ImageEvent> imageEvent() {
    return exchanged(ImageEvent.class);
  }

  public AvroSerde<TaskRequest> taskRequest() {
    return internal(TaskRequest.class);
  }

  public AvroSerde<TaskResult> taskResult() {
    return internal(TaskResult.class);
  }

  public AvroSerde<EnrichedImage> enrichedImage() {
    return exchanged(EnrichedImage.class);
  }


  public AvroSerde<ModerationDecision> moderationDecision() {
    return exchanged(ModerationDecision.class);
  }

  public AvroSerde<DeadLetter> deadLetter() {
    return exchanged(DeadLetter.class);
  }

  public AvroSerde<AcceptedImage> acceptedImage() {
    return internal(AcceptedImage.class);
  }

  public AvroSerde<PendingEnrichment> pendingEnrichment() {
    return internal(PendingEnrichment.class);
  }

  private <T extends org.apache.avro.specific.SpecificRecord> AvroSerde<T> exchanged(Class<T> type) {
    return new AvroSerde<>(type, store, registry, writeRegistryFormat);
  }

  private <T extends org.apache.avro.specific.SpecificRecord> AvroSerde<T> internal(Class<T> type) {
    return new AvroSerde<>(type, store, registry, false);
  }

  public AvroSerde<ChatTask> chatTask() {
    return new AvroSerde<>(ChatTask.class, store);
  }

  public AvroSerde<ChatReply> chatReply() {
    return new AvroSerde<>(ChatReply.class, store);
  }

  public AvroSerde<ChatMessage> chatMessage() {
    return exchanged(ChatMessage.class);
  }

  public AvroSerde<ConversationState> conversationState() {
    return internal(ConversationState.class);
  }
}

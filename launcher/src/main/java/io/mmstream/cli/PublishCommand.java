package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaConnectionCheck;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.schema.ImageEvent;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import java.util.ArrayList;
import java.util.List;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bin/mmstream publish}: sends one ImageEvent per image to mm.images.v1. */
@Command(name = "publish", mixinStandardHelpOptions = true,
    description = "Publish image events (files inline, URLs by reference) to " + Topics.IMAGES + ".")
public final class PublishCommand implements Callable<Integer> {

  @Mixin ConfigOptions config;

  @Mixin WireFormatOptions wireFormat;

  @Option(names = "--image", required = true, arity = "1..*", paramLabel = "FILE|URL", description = "Images to publish.")
  List<String> images;

  @Option(names = "--tasks", split = ",", defaultValue = "tag,caption", description = "tag, caption, vqa (default: ${DEFAULT-VALUE}).")
  List<String> tasks;

  @Option(names = "--question", description = "VQA question or instruction (repeatable).")
  List<String> questions = new ArrayList<>();

  @Option(names = "--candidates", split = ",", description = "Closed answer set for VQA rank mode, e.g. yes,no.")
  List<String> candidates = new ArrayList<>();

  @Option(names = "--label-set", defaultValue = "demo", description = "Configured label set for tagging (default: ${DEFAULT-VALUE}).")
  String labelSet;

  @Option(names = "--labels", split = ",", description = "Inline labels instead of a label set.")
  List<String> labels = new ArrayList<>();

  @Option(names = "--tenant", defaultValue = "demo", description = "Tenant id (default: ${DEFAULT-VALUE}).")
  String tenant;

  @Spec CommandSpec spec;

  /**
   * Publishes every image; one whose record Kafka refuses as too large (client max.request.size or the
   * topic's max.message.bytes) is reported and skipped, and the command then exits with 1.
   */
  @Override
  public Integer call() throws Exception {
    Settings settings = wireFormat.applyTo(config.settings());
    ImageEvents.Requested requested = ImageEvents.requested(tasks, labelSet, labels, questions, candidates);
    KafkaConnectionCheck.verify(settings, "publish-check");
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    int refused = 0;
    try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(
        KafkaClientConfig.producer(settings, "publish"), new StringSerializer(),
        AvroSerdes.from(settings).imageEvent().serializer())) {
      for (String image : images) {
        ImageEvent event = ImageEvents.forSource(image, tenant, requested);
        try {
          producer.send(new ProducerRecord<>(Topics.IMAGES, event.getEventId(), event)).get();
          out.println("published " + event.getImageId() + " as event " + event.getEventId());
        } catch (ExecutionException | RecordTooLargeException e) {
          Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
          if (!(cause instanceof RecordTooLargeException)) {
            throw e;
          }
          refused++;
          err.println("not published: " + image + " makes a record larger than Kafka accepts (max.request.size /"
              + " the topic's max.message.bytes, both from mmstream.topics.max-message-bytes="
              + settings.get(KafkaSettings.MAX_MESSAGE_BYTES) + "): " + cause.getMessage());
        }
      }
    }
    out.flush();
    err.flush();
    return refused == 0 ? 0 : 1;
  }
}

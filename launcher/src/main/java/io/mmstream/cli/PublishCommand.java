package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaConnectionCheck;
import io.mmstream.config.Settings;
import io.mmstream.schema.ImageEvent;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/mmstream publish}: sends one ImageEvent per image to mm.images.v1. */
@Command(name = "publish", mixinStandardHelpOptions = true,
    description = "Publish image events (files inline, URLs by reference) to " + Topics.IMAGES + ".")
public final class PublishCommand implements Callable<Integer> {

  @Mixin ConfigOptions config;

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

  @Override
  public Integer call() throws Exception {
    Settings settings = config.settings();
    ImageEvents.Requested requested = ImageEvents.requested(tasks, labelSet, labels, questions, candidates);
    KafkaConnectionCheck.verify(settings, "publish-check");
    try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(
        KafkaClientConfig.producer(settings, "publish"), new StringSerializer(),
        AvroSerdes.standard().imageEvent().serializer())) {
      for (String image : images) {
        ImageEvent event = ImageEvents.forSource(image, tenant, requested);
        producer.send(new ProducerRecord<>(Topics.IMAGES, event.getEventId(), event)).get();
        System.out.println("published " + event.getImageId() + " as event " + event.getEventId());
      }
    }
    return 0;
  }
}

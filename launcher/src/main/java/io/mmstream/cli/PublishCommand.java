package io.mmstream.cli;

import io.mmstream.config.KafkaClientConfig;
import io.mmstream.config.KafkaConnectionCheck;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.schema.ChatMessage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
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

/** {@code bin/mmstream publish}: sends one ImageEvent per image to mm.images.v1, or one ChatMessage to mm.chat.v1. */
@Command(name = "publish", mixinStandardHelpOptions = true,
    description = "Publish image events (files inline, URLs by reference) to " + Topics.IMAGES + ", or with --chat one"
        + " chat message to " + Topics.CHAT + ".")
public final class PublishCommand implements Callable<Integer> {

  @Mixin ConfigOptions config;

  @Mixin WireFormatOptions wireFormat;

  @Option(names = "--image", arity = "1..*", paramLabel = "FILE|URL",
      description = "Images to publish (with --chat: at most one, the conversation's image).")
  List<String> images = new ArrayList<>();

  @Option(names = "--chat", paramLabel = "CONVERSATION",
      description = "Publish one chat message of this conversation instead (its first message needs --image).")
  String chat;

  @Option(names = "--message", paramLabel = "TEXT", description = "The chat message's text (with --chat).")
  String message;

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

  /** Exit code of a usage error (unknown task, URI scheme, missing file), as picocli's own usage errors. */
  static final int USAGE_ERROR = 2;

  /**
   * Publishes every image; one whose record Kafka refuses as too large (client max.request.size or the
   * topic's max.message.bytes) is reported and skipped, and the command then exits with 1. Every event
   * is built before anything is sent: an unknown task, URI scheme or a missing file is one line on
   * stderr and exit code 2, with nothing published.
   */
  @Override
  public Integer call() throws Exception {
    Settings settings = wireFormat.applyTo(config.settings());
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (chat != null) {
      return publishChat(settings, out, err);
    }
    if (images.isEmpty() || message != null) {
      err.println("mmstream publish: " + (images.isEmpty() ? "give --image (or --chat with --message)"
          : "--message goes with --chat"));
      err.flush();
      return USAGE_ERROR;
    }
    List<ImageEvent> events = new ArrayList<>();
    try {
      ImageEvents.Requested requested = ImageEvents.requested(tasks, labelSet, labels, questions, candidates);
      for (String image : images) {
        events.add(ImageEvents.forSource(image, tenant, requested));
      }
    } catch (IllegalArgumentException | NoSuchFileException e) {
      err.println("mmstream publish: " + (e instanceof NoSuchFileException ? "no such file: " : "") + e.getMessage());
      err.flush();
      return USAGE_ERROR;
    }
    KafkaConnectionCheck.verify(settings, "publish-check");
    int refused = 0;
    try (KafkaProducer<String, ImageEvent> producer = new KafkaProducer<>(
        KafkaClientConfig.producer(settings, "publish"), new StringSerializer(),
        AvroSerdes.from(settings).imageEvent().serializer())) {
      for (int i = 0; i < events.size(); i++) {
        ImageEvent event = events.get(i);
        String image = images.get(i);
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

  /** One chat message keyed tenant/conversationId; prints its message id, which its reply carries. */
  private int publishChat(Settings settings, PrintWriter out, PrintWriter err) throws Exception {
    ChatMessage chatMessage;
    try {
      if (message == null || message.isBlank() || images.size() > 1) {
        throw new IllegalArgumentException(images.size() > 1 ? "--chat takes at most one --image"
            : "--chat needs --message TEXT");
      }
      chatMessage = ChatMessages.message(tenant, chat, message, images.isEmpty() ? null : images.get(0));
    } catch (IllegalArgumentException | NoSuchFileException e) {
      err.println("mmstream publish: " + (e instanceof NoSuchFileException ? "no such file: " : "") + e.getMessage());
      err.flush();
      return USAGE_ERROR;
    }
    KafkaConnectionCheck.verify(settings, "publish-check");
    try (KafkaProducer<String, ChatMessage> producer = new KafkaProducer<>(
        KafkaClientConfig.producer(settings, "publish"), new StringSerializer(),
        AvroSerdes.from(settings).chatMessage().serializer())) {
      producer.send(new ProducerRecord<>(Topics.CHAT, ChatMessages.key(chatMessage), chatMessage)).get();
    }
    out.println("published message " + chatMessage.getMessageId() + " of conversation " + tenant + "/" + chat);
    out.flush();
    return 0;
  }
}

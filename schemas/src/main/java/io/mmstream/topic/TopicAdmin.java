package io.mmstream.topic;

import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/** Creates mmstream's topics with the configured partitions, retention and maximum message size. */
public final class TopicAdmin {
  private TopicAdmin() {}

  /** The topic definitions that {@link #ensureTopics} creates. */
  public static List<NewTopic> definitions(Settings settings) {
    int partitions = settings.get(TopicSettings.PARTITIONS);
    short replication = settings.get(TopicSettings.REPLICATION_FACTOR).shortValue();
    String maxBytes = Integer.toString(settings.get(KafkaSettings.MAX_MESSAGE_BYTES));
    List<NewTopic> topics = new ArrayList<>();
    for (String name : Topics.ALL) {
      long retention = name.equals(Topics.DLQ) ? settings.get(TopicSettings.DLQ_RETENTION_MS)
          : settings.get(TopicSettings.RETENTION_MS);
      topics.add(new NewTopic(name, partitions, replication).configs(Map.of(
          TopicConfig.RETENTION_MS_CONFIG, Long.toString(retention),
          TopicConfig.MAX_MESSAGE_BYTES_CONFIG, maxBytes)));
    }
    return topics;
  }

  /** Creates the topics that do not exist yet; returns the names it created. */
  public static List<String> ensureTopics(Admin admin, Settings settings) {
    try {
      Set<String> existing = admin.listTopics().names().get();
      List<NewTopic> missing = definitions(settings).stream().filter(t -> !existing.contains(t.name())).toList();
      List<String> created = new ArrayList<>();
      for (var e : admin.createTopics(missing).values().entrySet()) {
        try {
          e.getValue().get();
          created.add(e.getKey());
        } catch (ExecutionException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException("cannot create topic " + e.getKey() + ": " + ex.getCause(), ex.getCause());
          }
        }
      }
      return created;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot list topics: " + e.getCause(), e.getCause());
    }
  }
}

package io.mmstream.security;

import static org.apache.kafka.common.acl.AclOperation.CREATE;
import static org.apache.kafka.common.acl.AclOperation.DESCRIBE;
import static org.apache.kafka.common.acl.AclOperation.READ;
import static org.apache.kafka.common.acl.AclOperation.WRITE;
import static org.apache.kafka.common.resource.PatternType.LITERAL;
import static org.apache.kafka.common.resource.PatternType.PREFIXED;
import static org.apache.kafka.common.resource.ResourceType.GROUP;
import static org.apache.kafka.common.resource.ResourceType.TOPIC;
import static org.apache.kafka.common.resource.ResourceType.TRANSACTIONAL_ID;

import io.mmstream.topic.Topics;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.acl.AclOperation;

/**
 * The least-privilege ACLs of every mmstream app, defined once. The apps supply their ids
 * ({@code StreamApp.access}, {@code WorkerSettings.access}); the README's ACL table, the Strimzi
 * KafkaUsers in deploy/k8s and the StandardAuthorizer integration test are all checked against this.
 *
 * <p>READ and WRITE imply DESCRIBE in Kafka, so DESCRIBE is listed only where nothing else is
 * granted. Idempotent producers need no cluster permission since Kafka 3.0 (WRITE on a topic suffices).
 */
public final class AppAcls {
  private AppAcls() {}

  /** Group id prefix of {@code mmstream tail} (each run joins a fresh group under it). */
  public static final String TAIL_GROUP_PREFIX = "mmstream-tail-";

  /**
   * The stream app (Kafka Streams, exactly_once_v2). Kafka Streams names its consumer group after the
   * application.id and its internal topics and transactional ids with it as prefix, so those three are
   * granted by prefix. {@code createsTopics}: {@code mmstream.topics.auto-create} (off where an operator
   * such as Strimzi owns the topics).
   */
  public static AppAccess streamApp(String applicationId, boolean createsTopics) {
    List<KafkaPermission> p = new ArrayList<>();
    for (String topic : List.of(Topics.IMAGES, Topics.IMAGES_ACCEPTED, Topics.RESULTS, Topics.CHAT, Topics.CHAT_RESULTS)) {
      p.add(topic(topic, READ));
    }
    List<String> written = new ArrayList<>(List.of(Topics.IMAGES_ACCEPTED));
    Topics.ROUTED_TASKS.forEach(t -> written.add(Topics.taskTopic(t)));
    written.addAll(List.of(Topics.ENRICHED, Topics.MODERATION, Topics.DLQ, Topics.TASKS_CHAT, Topics.CHAT_REPLIES));
    for (String topic : written) {
      p.add(topic(topic, WRITE));
    }
    if (createsTopics) {
      Topics.ALL.forEach(t -> p.add(topic(t, CREATE)));
    }
    // Changelog topics <application.id>-<store>-changelog: created, restored from, written in transactions.
    for (AclOperation op : List.of(CREATE, READ, WRITE)) {
      p.add(new KafkaPermission(TOPIC, applicationId, PREFIXED, op));
    }
    p.add(new KafkaPermission(GROUP, applicationId, PREFIXED, READ));
    p.add(new KafkaPermission(TRANSACTIONAL_ID, applicationId, PREFIXED, WRITE));
    return new AppAccess("stream app", p);
  }

  /**
   * A model worker: reads its task topic in its consumer group and writes results (mm.results.v1, or
   * mm.chat.results.v1 for chat workers) and dead letters in transactions whose ids are
   * {@code <transactionalIdPrefix>-<workerId>}.
   */
  public static AppAccess worker(
      String kind, String taskTopic, String resultTopic, String groupId, String transactionalIdPrefix) {
    return new AppAccess("worker " + kind, List.of(
        topic(taskTopic, READ),
        topic(resultTopic, WRITE),
        topic(Topics.DLQ, WRITE),
        new KafkaPermission(GROUP, groupId, LITERAL, READ),
        new KafkaPermission(TRANSACTIONAL_ID, transactionalIdPrefix + "-", PREFIXED, WRITE)));
  }

  /** {@code mmstream publish}: image events and chat messages. */
  public static AppAccess publisher() {
    return new AppAccess("publish", List.of(topic(Topics.IMAGES, WRITE), topic(Topics.CHAT, WRITE)));
  }

  /** {@code mmstream tail} (and {@code chat --conversation}): the output topics, in throw-away groups under {@link #TAIL_GROUP_PREFIX}. */
  public static AppAccess tail() {
    return new AppAccess("tail", List.of(
        topic(Topics.ENRICHED, READ),
        topic(Topics.MODERATION, READ),
        topic(Topics.DLQ, READ),
        topic(Topics.CHAT_REPLIES, READ),
        new KafkaPermission(GROUP, TAIL_GROUP_PREFIX, PREFIXED, READ)));
  }

  /**
   * The autoscaler (KEDA's Kafka scaler): the end offsets of the workers' task topics and the committed
   * offsets of their groups, nothing it could consume or change.
   */
  public static AppAccess lagReader(List<String> taskTopics, List<String> groupIds) {
    List<KafkaPermission> p = new ArrayList<>();
    taskTopics.forEach(t -> p.add(topic(t, DESCRIBE)));
    groupIds.forEach(g -> p.add(new KafkaPermission(GROUP, g, LITERAL, DESCRIBE)));
    return new AppAccess("autoscaler", p);
  }

  private static KafkaPermission topic(String name, AclOperation op) {
    return new KafkaPermission(TOPIC, name, LITERAL, op);
  }
}

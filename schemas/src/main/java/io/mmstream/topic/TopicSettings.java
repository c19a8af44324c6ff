package io.mmstream.topic;

import io.mmstream.config.Setting;

/** How mmstream's topics are created. */
public final class TopicSettings {
  private TopicSettings() {}

  public static final Setting<Integer> PARTITIONS = Setting.integer("mmstream.topics.partitions", 6,
      "Partitions of every topic (mm.images.accepted.v1 and mm.results.v1 must match: the join is co-partitioned)");
  public static final Setting<Integer> REPLICATION_FACTOR = Setting.integer("mmstream.topics.replication-factor", 1,
      "Replication factor of created topics and of Kafka Streams internal topics");
  public static final Setting<Long> RETENTION_MS = Setting.longValue("mmstream.topics.retention-ms", 7L * 24 * 3600_000,
      "retention.ms of data topics");
  public static final Setting<Long> DLQ_RETENTION_MS = Setting.longValue("mmstream.topics.dlq-retention-ms",
      30L * 24 * 3600_000, "retention.ms of mm.dlq.v1 (kept longer for investigation and replay)");
  public static final Setting<Boolean> AUTO_CREATE = Setting.bool("mmstream.topics.auto-create", true,
      "Create missing topics at startup");
}

package io.mmstream.topic;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.config.Settings;
import io.mmstream.schema.TaskType;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

class TopicAdminTest {

  @Test
  void definitionsFollowTheSettings() {
    Settings s = Settings.of(Map.of("mmstream.topics.partitions", "4", "mmstream.topics.max-message-bytes", "1000000",
        "mmstream.topics.dlq-retention-ms", "99"));
    var defs = TopicAdmin.definitions(s);
    assertThat(defs).extracting(NewTopic::name).containsExactlyElementsOf(Topics.ALL);
    assertThat(defs).allSatisfy(t -> {
      assertThat(t.numPartitions()).isEqualTo(4);
      assertThat(t.configs()).containsEntry("max.message.bytes", "1000000");
    });
    assertThat(defs.stream().filter(t -> t.name().equals(Topics.DLQ)).findFirst().orElseThrow().configs())
        .containsEntry("retention.ms", "99");
  }

  @Test
  void everyRoutedTaskHasItsOwnVersionedTopic() {
    assertThat(Topics.ROUTED_TASKS).extracting(Topics::taskTopic).doesNotHaveDuplicates()
        .allSatisfy(t -> assertThat(t).startsWith("mm.tasks.").endsWith(".v1"));
    assertThat(Topics.ALL).allSatisfy(t -> assertThat(t).matches("mm\\.[a-z.-]+\\.v\\d+"));
    assertThat(Topics.ROUTED_TASKS).doesNotContain(TaskType.UNKNOWN);
  }
}

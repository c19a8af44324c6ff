package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.config.Settings;
import io.mmstream.config.SettingsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerSettingsTest {

  @Test
  void environmentOverridesTheFileAndKafkaSecurityReachesBothClients(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("worker.properties");
    Files.writeString(
        file,
        "mmstream.worker.kind=caption\nmmstream.worker.model-dir=/models/blip\nmmstream.worker.batch.max-size=4\n"
            + "mmstream.worker.max-in-flight=64\nkafka.security.protocol=SASL_SSL\nkafka.sasl.mechanism=PLAIN\n"
            + "kafka.ssl.truststore.location=/certs/ca.p12\n");
    Path jaas = dir.resolve("jaas");
    Files.writeString(jaas, "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"w\" password=\"s3cret\";\n");
    Map<String, String> env = Map.of(
        "MMSTREAM_WORKER_BATCH_MAX_SIZE", "16",
        "MMSTREAM_WORKER_BATCH_PREFERRED_SIZES", "4, 8",
        "MMSTREAM_WORKER_DEADLINE_POLICY", "drop",
        "MMSTREAM_KAFKA_BOOTSTRAP_SERVERS", "broker:9092",
        "MMSTREAM_KAFKA_SASL_JAAS_CONFIG_FILE", jaas.toString(),
        "HOME", "/root");
    WorkerSettings settings = WorkerSettings.from(Settings.load(file, env));

    assertThat(settings.kind()).isEqualTo(ModelKind.CAPTION);
    assertThat(settings.modelSource().directory()).isEqualTo(Path.of("/models/blip"));
    assertThat(settings.batchMaxSize()).isEqualTo(16);
    assertThat(settings.preferredBatchSizes()).containsExactly(4, 8);
    assertThat(settings.maxInFlight()).isEqualTo(64);
    assertThat(settings.resumeThreshold()).isEqualTo(32);
    assertThat(settings.deadlinePolicy()).isEqualTo(WorkerSettings.DeadlinePolicy.DROP);
    assertThat(settings.groupId()).isEqualTo("mmstream-worker-caption");
    for (Properties client : List.of(TaskWorker.consumerConfig(settings), TaskWorker.producerConfig(settings))) {
      assertThat(client)
          .containsEntry(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "broker:9092")
          .containsEntry(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL")
          .containsEntry(SaslConfigs.SASL_MECHANISM, "PLAIN")
          .containsEntry("ssl.truststore.location", "/certs/ca.p12");
      assertThat((String) client.get(SaslConfigs.SASL_JAAS_CONFIG)).contains("password=\"s3cret\"");
    }
    assertThat(TaskWorker.producerConfig(settings)).containsEntry("transactional.id", settings.transactionalId());
    assertThat(TaskWorker.consumerConfig(settings)).containsEntry("group.id", "mmstream-worker-caption")
        .containsEntry("isolation.level", "read_committed");
    String dump = settings.source().describe(WorkerSettings.ALL);
    assertThat(dump).contains("mmstream.worker.batch.max-size = 16").contains("kafka.sasl.jaas.config = ****")
        .doesNotContain("s3cret");
  }

  @Test
  void keysMapToTheDocumentedEnvironmentVariables() {
    assertThat(WorkerSettings.BATCH_MAX_DELAY_MS.envName()).isEqualTo("MMSTREAM_WORKER_BATCH_MAX_DELAY_MS");
    // The dotted spelling of older configs names the same variable, so it still applies.
    WorkerSettings settings = WorkerSettings.from(Settings.of(Map.of(
        "worker.kind", "clip", "worker.model.preset", "vit-b-32", "worker.batch.max.size", "12")));
    assertThat(settings.batchMaxSize()).isEqualTo(12);
  }

  @Test
  void invalidSettingsAreRejectedWithTheKey() {
    Map<String, String> base = Map.of("mmstream.worker.kind", "clip", "mmstream.worker.model-preset", "vit-b-32");
    assertThatThrownBy(() -> from(with(base, "mmstream.worker.batch.max-sise", "4")))
        .isInstanceOf(SettingsException.class).hasMessageContaining("mmstream.worker.batch.max-sise");
    assertThatThrownBy(() -> from(with(base, "mmstream.worker.max-in-flight", "2")))
        .hasMessageContaining("mmstream.worker.max-in-flight");
    assertThatThrownBy(() -> from(with(base, "mmstream.worker.model-dir", "/m")))
        .hasMessageContaining("exactly one");
    assertThatThrownBy(() -> from(with(base, "mmstream.worker.device", "tpu")))
        .hasMessageContaining("mmstream.worker.device");
    assertThatThrownBy(() -> from(Map.of("mmstream.worker.model-dir", "/m")))
        .hasMessageContaining("MMSTREAM_WORKER_KIND");
  }

  @Test
  void fp16WithoutAGpuIsRefused() {
    assertThatThrownBy(() -> DeviceSelector.select(WorkerSettings.DeviceChoice.AUTO, true, 0, "PyTorch"))
        .hasMessageContaining("fp16");
    assertThat(DeviceSelector.select(WorkerSettings.DeviceChoice.AUTO, false, 2, "PyTorch").names())
        .isEqualTo(List.of("gpu0", "gpu1"));
    assertThat(DeviceSelector.select(WorkerSettings.DeviceChoice.CPU, false, 2, "PyTorch").names()).isEqualTo(List.of("cpu"));
  }

  private static WorkerSettings from(Map<String, String> values) {
    return WorkerSettings.from(Settings.of(values));
  }

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    Map<String, String> out = new HashMap<>(base);
    out.put(key, value);
    return out;
  }
}

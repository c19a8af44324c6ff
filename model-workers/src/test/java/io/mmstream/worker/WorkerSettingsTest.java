package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerSettingsTest {

  @Test
  void laterSourcesWinAndKeysMapToEnvironmentVariables(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("worker.properties");
    Files.writeString(
        file,
        "worker.kind=caption\nworker.model.dir=/models/blip\nworker.batch.max.size=4\nworker.max.in.flight=64\n"
            + "kafka.security.protocol=SSL\n");
    Map<String, String> env =
        Map.of(
            "MMSTREAM_WORKER_BATCH_MAX_SIZE", "16",
            "MMSTREAM_WORKER_BATCH_PREFERRED_SIZES", "4, 8",
            "MMSTREAM_KAFKA_BOOTSTRAP_SERVERS", "broker:9092",
            "HOME", "/root");
    WorkerSettings settings = WorkerSettings.load(file, env, Map.of("worker.deadline.policy", "drop"));

    assertThat(settings.kind()).isEqualTo(ModelKind.CAPTION);
    assertThat(settings.modelSource().directory()).isEqualTo(Path.of("/models/blip"));
    assertThat(settings.batchMaxSize()).isEqualTo(16);
    assertThat(settings.preferredBatchSizes()).containsExactly(4, 8);
    assertThat(settings.maxInFlight()).isEqualTo(64);
    assertThat(settings.resumeThreshold()).isEqualTo(32);
    assertThat(settings.deadlinePolicy()).isEqualTo(WorkerSettings.DeadlinePolicy.DROP);
    assertThat(settings.groupId()).isEqualTo("mmstream-worker-caption");
    assertThat(settings.kafka()).containsEntry("bootstrap.servers", "broker:9092").containsEntry("security.protocol", "SSL");
    assertThat(WorkerSettings.environmentVariable("worker.batch.max.delay.ms")).isEqualTo("MMSTREAM_WORKER_BATCH_MAX_DELAY_MS");
  }

  @Test
  void everyKeyHasADescription() {
    WorkerSettings.KEYS.forEach((key, spec) -> assertThat(spec[1]).as(key).isNotBlank());
  }

  @Test
  void invalidSettingsAreRejectedWithTheKey() {
    Map<String, String> base = Map.of("worker.kind", "clip", "worker.model.preset", "vit-b-32");
    assertThatThrownBy(() -> WorkerSettings.fromMap(with(base, "worker.batch.max.sise", "4")))
        .hasMessageContaining("worker.batch.max.sise");
    assertThatThrownBy(() -> WorkerSettings.fromMap(with(base, "worker.max.in.flight", "2")))
        .hasMessageContaining("worker.max.in.flight");
    assertThatThrownBy(() -> WorkerSettings.fromMap(with(base, "worker.model.dir", "/m")))
        .hasMessageContaining("exactly one");
    assertThatThrownBy(() -> WorkerSettings.fromMap(Map.of("worker.model.dir", "/m")))
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

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    Map<String, String> out = new java.util.HashMap<>(base);
    out.put(key, value);
    return out;
  }
}

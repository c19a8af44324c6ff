package io.mmstream.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.serde.SchemaSettings;
import io.mmstream.topic.TopicSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {

  static final Setting<Integer> PARTITIONS = TopicSettings.PARTITIONS;

  @Test
  void envNameFollowsTheRule() {
    assertThat(Settings.envName("mmstream.images.max-inline-bytes")).isEqualTo("MMSTREAM_IMAGES_MAX_INLINE_BYTES");
    assertThat(Settings.envName("kafka.sasl.jaas.config")).isEqualTo("MMSTREAM_KAFKA_SASL_JAAS_CONFIG");
  }

  @Test
  void environmentOverridesFileWhichOverridesDefault(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("mmstream.properties");
    Files.writeString(file, "mmstream.topics.partitions=3\nmmstream.topics.retention-ms=1000\n");

    Settings fromFile = Settings.load(file, Map.of());
    assertThat(fromFile.get(PARTITIONS)).isEqualTo(3);
    assertThat(fromFile.get(TopicSettings.REPLICATION_FACTOR)).isEqualTo(1);

    Settings withEnv = Settings.load(file, Map.of("MMSTREAM_TOPICS_PARTITIONS", "12", "PATH", "/bin"));
    assertThat(withEnv.get(PARTITIONS)).isEqualTo(12);
    assertThat(withEnv.get(TopicSettings.RETENTION_MS)).isEqualTo(1000L);
  }

  @Test
  void badValueNamesTheKeyAndSource() {
    Settings s = Settings.load(null, Map.of("MMSTREAM_TOPICS_PARTITIONS", "many"));
    assertThatThrownBy(() -> s.get(PARTITIONS))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining("mmstream.topics.partitions")
        .hasMessageContaining("MMSTREAM_TOPICS_PARTITIONS")
        .hasMessageContaining("many");
  }

  @Test
  void secretsComeFromFilesAndAreNeverPrinted(@TempDir Path dir) throws Exception {
    Path jaas = dir.resolve("jaas");
    String jaasLine = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"hunter2\";";
    Files.writeString(jaas, jaasLine + "\n");
    Path file = dir.resolve("mmstream.properties");
    Files.writeString(file, "kafka.ssl.truststore.password=trustpw\nkafka.ssl.truststore.location=/etc/ts.p12\n");
    Settings s = Settings.load(file, Map.of(
        "MMSTREAM_KAFKA_SASL_JAAS_CONFIG_FILE", jaas.toString(),
        "MMSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
        "MMSTREAM_KAFKA_SSL_KEY_PASSWORD", "keypw"));

    assertThat(s.get(KafkaSettings.SASL_JAAS_CONFIG)).isEqualTo(jaasLine);
    String dump = s.describe(Setting.declaredIn(KafkaSettings.class, TopicSettings.class, SchemaSettings.class));
    assertThat(dump).doesNotContain("hunter2", "trustpw", "keypw")
        .contains("kafka.sasl.jaas.config = ****", "kafka.ssl.truststore.password = ****",
            "kafka.ssl.key.password = ****", "kafka.ssl.truststore.location = /etc/ts.p12",
            "kafka.security.protocol = SASL_SSL", "mmstream.topics.partitions = 6  (default)");

    Properties client = KafkaClientConfig.consumer(s, "g", "test");
    assertThat(client).containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.jaas.config", jaasLine)
        .containsEntry("ssl.truststore.password", "trustpw")
        .containsEntry("ssl.truststore.location", "/etc/ts.p12")
        .containsEntry("ssl.key.password", "keypw")
        .doesNotContainKey("sasl.mechanism");
  }

  @Test
  void keysEndingInFileAreRejected() {
    assertThatThrownBy(() -> Setting.string("mmstream.policy-file", "", "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void listsAndBooleansParse() {
    Setting<List<String>> list = Setting.list("mmstream.test.cidrs", List.of(), "x");
    Setting<Boolean> flag = Setting.bool("mmstream.test.flag", false, "x");
    Settings s = Settings.of(Map.of("mmstream.test.cidrs", " 10.0.0.0/8, 127.0.0.1/32 ,", "mmstream.test.flag", "yes"));
    assertThat(s.get(list)).containsExactly("10.0.0.0/8", "127.0.0.1/32");
    assertThat(s.get(flag)).isTrue();
  }
}

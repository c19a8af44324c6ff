package io.mmstream.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.cli.ConversationClient;
import io.mmstream.cli.DemoConfig;
import io.mmstream.cli.DemoWorkers;
import io.mmstream.cli.ImageEvents;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.schema.ChatReply;
import io.mmstream.stream.StreamApp;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.ModelSettings;
import io.mmstream.worker.WorkerMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The trained demo chat model (demo-models/weights/chat) behind the whole pipeline: a conversation about a sample
 * scene with a blue star and a yellow square, whose last question ("what colour is it?") can only be answered right
 * from the history (the star was the subject of the turn before). Fails, rather than skips, without the weights:
 * the demo needs them.
 */
class DemoChatConversationTest {

  @Test
  void theDemoChatModelAnswersAFollowUpFromTheHistory() throws Exception {
    Path home = Path.of(System.getProperty("mmstream.fixtures")).getParent();
    Path weights = home.resolve("demo-models/weights/chat");
    assertThat(weights.resolve("config.json")).as("the trained demo chat model (bin/mmstream train-demo)").isRegularFile();
    Path scene = home.resolve("samples/scene-02.png");
    assertThat(Files.readString(home.resolve("samples/ground-truth.tsv")))
        .as("the scene the questions are about").contains("scene-02.png\ta blue star and a yellow square");
    try (KafkaTestCluster cluster = KafkaTestCluster.start()) {
      Settings settings = DemoConfig.localRun(home, "demo-chat")
          .with(KafkaSettings.BOOTSTRAP_SERVERS.key(), cluster.bootstrapServers())
          .with(ModelSettings.CHAT_MAX_NEW_TOKENS.key(), 24);
      try (StreamApp app = StreamApp.start(settings);
          WorkerMain worker = DemoWorkers.start(settings, ModelKind.CHAT, weights, -1);
          ConversationClient client = ConversationClient.open(settings, "demo", "scene-02")) {
        assertThat(app.awaitRunning(Duration.ofSeconds(90))).isTrue();
        Duration timeout = Duration.ofMinutes(2);
        ChatReply shapes = client.ask("what shapes are there?", ImageEvents.imageSource(scene.toString()), timeout);
        ChatReply where = client.ask("where is the star?", null, timeout);
        ChatReply colour = client.ask("what colour is it?", null, timeout);
        System.out.printf("demo chat: '%s' / '%s' / '%s'%n", shapes.getText(), where.getText(), colour.getText());
        assertThat(shapes.getTurn()).isEqualTo(1);
        assertThat(colour.getTurn()).isEqualTo(3);
        assertThat(shapes.getText().toLowerCase(Locale.ROOT)).contains("blue star", "yellow square");
        assertThat(colour.getFailure()).isNull();
        assertThat(colour.getText().toLowerCase(Locale.ROOT)).as("'it' is the star: blue").contains("blue")
            .doesNotContain("yellow");
      }
    }
  }
}

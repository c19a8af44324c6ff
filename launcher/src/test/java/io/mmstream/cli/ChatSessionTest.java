package io.mmstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chat loop driven from a script: streaming, history, /reset, /image, and context trimming reported. */
class ChatSessionTest {

  /** Replies "seen N: QUESTION" (N = history turns it got), streamed a word at a time; keeps 2 turns at most. */
  private static final class EchoModel implements VisionLanguageModel {
    final List<GenerationRequest> requests = new ArrayList<>();

    @Override
    public String modelType() {
      return "echo";
    }

    @Override
    public boolean supportsHistory() {
      return true;
    }

    @Override
    public List<GeneratedText> generate(List<GenerationRequest> batch, DecodingOptions options) {
      GenerationRequest r = batch.get(0);
      requests.add(r);
      int dropped = Math.max(0, r.history().size() - 2);
      String text = "seen " + (r.history().size() - dropped) + ": " + r.prompt();
      for (String word : text.split("(?<= )")) {
        options.textSink().accept(word);
      }
      return List.of(new GeneratedText(new long[0], new long[0], text, null, dropped));
    }

    @Override
    public void close() {}
  }

  @Test
  void scriptedConversationKeepsHistoryAndObeysCommands(@TempDir Path dir) throws Exception {
    Path png = dir.resolve("dot.png");
    ImageIO.write(new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB), "png", png.toFile());
    EchoModel model = new EchoModel();
    ChatCommand.ChatSession session = new ChatCommand.ChatSession(model, DecodingOptions.defaults());
    session.setImage(new PixelImage(1, 1, 3, new byte[3]));
    String script = String.join("\n", "first?", "", "second?", "/reset", "third?", "/image " + png, "a", "b", "c",
        "d", "/nope") + "\n";
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    session.run(new BufferedReader(new StringReader(script)), new PrintStream(captured, true, StandardCharsets.UTF_8),
        false);

    List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines).containsExactly(
        "seen 0: first?",
        "seen 1: second?",
        "[history cleared]",
        "seen 0: third?",
        "[image " + png + "; new conversation]",
        "seen 0: a",
        "seen 1: b",
        "seen 2: c",
        "seen 2: d",
        "[the 1 oldest turn(s) no longer fit the model's context and were left out]",
        "[unknown command /nope; /image FILE, /reset, Ctrl-D ends]");
    assertThat(model.requests.get(1).history()).containsExactly(new ChatTurn("first?", "seen 0: first?"));
    assertThat(model.requests.get(4).images().get(0).width()).isEqualTo(3);
    assertThat(session.history()).extracting(ChatTurn::user).containsExactly("b", "c", "d");
  }
}

package io.mmstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A scripted two-turn chat with llava-tiny reproduces the original cli.py session the fixture recorded: the first
 * reply is case c0's, and the second question, asked with that reply in the history, gets case c4's reply.
 */
class ChatCommandLlavaTest {
  private static final Path LLAVA = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "llava",
      "llava-tiny");

  @Test
  void twoTurnSessionMatchesTheOriginalsTurns() throws Exception {
    JsonNode cases = new ObjectMapper().readTree(LLAVA.resolve("golden.json").toFile()).get("cases");
    JsonNode first = cases.get(0);
    JsonNode second = cases.get(4);
    assertThat(second.get("history").get(0).get(0).asText()).isEqualTo(first.get("prompt").asText());
    try (NDManager manager = NDManager.newBaseManager();
        VisionLanguageModel model = VisionLanguageModels.load(LLAVA, manager)) {
      ChatCommand.ChatSession session = new ChatCommand.ChatSession(model, DecodingOptions.greedy(8));
      session.setImage(BlipCliSupport.readImage(LLAVA.resolve(first.get("image").asText())));
      String script = first.get("prompt").asText() + "\n" + second.get("prompt").asText() + "\n";
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      session.run(new BufferedReader(new StringReader(script)),
          new PrintStream(captured, true, StandardCharsets.UTF_8), false);

      List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().toList();
      assertThat(lines).containsExactly(first.get("greedy_text").asText(), second.get("greedy_text").asText());
      assertThat(session.history()).containsExactly(
          new ChatTurn(first.get("prompt").asText(), second.get("history").get(0).get(1).asText()),
          new ChatTurn(second.get("prompt").asText(), second.get("greedy_text").asText().strip()));
    }
  }
}

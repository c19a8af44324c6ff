package io.mmstream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code mmstream generate --json} runs whatever config.json names and prints the fixtures' ids and logits. */
class GenerateCommandTest {
  private static final Path FIXTURES = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"));
  private static final Path INSTRUCTBLIP = FIXTURES.resolve("instructblip/instructblip-tiny");

  /** The command's exit code, its stdout and its stderr. */
  private record Run(int code, String stdout, String stderr) {
    JsonNode lastJson() throws Exception {
      String[] lines = stdout.strip().split("\n");
      return new ObjectMapper().readTree(lines[lines.length - 1]);
    }
  }

  private static Run run(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    int code;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      code = new CommandLine(new GenerateCommand()).execute(args.toArray(String[]::new));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void instructBlipVicunaGivesTheGoldenPromptIdsIdsAndStepLogits() throws Exception {
    JsonNode golden = new ObjectMapper().readTree(INSTRUCTBLIP.resolve("golden.json").toFile());
    Run run = run(List.of("--model", INSTRUCTBLIP.toString(), "--image",
        INSTRUCTBLIP.resolve("images/red_circle.png").toString(), "--prompt",
        golden.get("instructions").get(0).asText(), "--greedy", "--max-new-tokens", "8", "--logits", "--json"));
    assertThat(run.code()).as(run.stderr()).isZero();
    JsonNode out = run.lastJson();
    assertThat(out.get("model_type").asText()).isEqualTo("instructblip/llama");
    JsonNode result = out.get("results").get(0);
    assertThat(result.get("prompt_ids")).isEqualTo(golden.get("ids").get("llm.i0.prompt_ids"));
    assertThat(result.get("ids")).isEqualTo(golden.get("ids").get("llm.i0.greedy_new_ids"));
    double atol = golden.get("tolerance").get("atol_per_tensor").get("llm.i0.greedy_step_logits").asDouble();
    try (SafetensorsFile tensors = SafetensorsFile.open(INSTRUCTBLIP.resolve("golden.safetensors"))) {
      SafetensorsFile.Entry entry = tensors.entries().get("llm.i0.greedy_step_logits");
      ByteBuffer values = tensors.map(entry).order(ByteOrder.LITTLE_ENDIAN);
      JsonNode steps = result.get("step_logits");
      assertThat(steps.size()).isEqualTo((int) entry.shape()[0]);
      for (JsonNode step : steps) {
        assertThat(step.size()).isEqualTo((int) entry.shape()[1]);
        for (JsonNode v : step) {
          assertThat(v.asDouble()).isCloseTo(values.getFloat(), within(atol));
        }
      }
    }
  }

  @Test
  void aModelWithoutChatWarnsAndIgnoresTheHistory(@TempDir Path dir) throws Exception {
    Path history = dir.resolve("history.json");
    Files.writeString(history, "[[\"what is it?\", \"a circle\"]]");
    List<String> args = new ArrayList<>(List.of("--model", INSTRUCTBLIP.toString(), "--image",
        INSTRUCTBLIP.resolve("images/red_circle.png").toString(), "--prompt", "what is in the picture?", "--greedy",
        "--max-new-tokens", "2", "--json"));
    JsonNode without = run(args).lastJson();
    args.addAll(List.of("--history", history.toString()));
    Run with = run(args);
    assertThat(with.code()).isZero();
    assertThat(with.stderr()).contains("--history ignored");
    assertThat(with.lastJson()).isEqualTo(without);
  }

  @Test
  void aMalformedHistoryIsRejected(@TempDir Path dir) throws Exception {
    Path history = dir.resolve("history.json");
    Files.writeString(history, "[[\"only the user\"]]");
    Run run = run(List.of("--model", INSTRUCTBLIP.toString(), "--image",
        INSTRUCTBLIP.resolve("images/red_circle.png").toString(), "--history", history.toString()));
    assertThat(run.code()).isNotZero();
    assertThat(run.stderr()).contains("not a [user, assistant] pair");
  }
}

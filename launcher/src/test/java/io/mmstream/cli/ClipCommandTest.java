package io.mmstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.tensor.SafetensorsFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code mmstream clip --json} on clip-tiny gives openai's ids, embeddings and logits. */
class ClipCommandTest {
  private static final Path CLIP = Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "clip");

  @Test
  void jsonOutputMatchesTheGoldens(@TempDir Path model) throws Exception {
    for (String name : List.of("config.json", "model.safetensors")) {
      Files.copy(CLIP.resolve("clip-tiny").resolve(name), model.resolve(name));
    }
    for (String name : List.of("vocab.json", "merges.txt")) {
      Files.copy(CLIP.resolve("tokenizer").resolve(name), model.resolve(name));
    }
    JsonNode golden = new ObjectMapper().readTree(CLIP.resolve("clip-tiny/golden.json").toFile());
    List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--json"));
    golden.get("images").forEach(i -> args.addAll(List.of("--image", CLIP.resolve("images").resolve(i.get("file").asText()).toString())));
    golden.get("texts").forEach(t -> args.addAll(List.of("--text", t.asText())));

    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    int code;
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      code = new CommandLine(new ClipCommand()).execute(args.toArray(String[]::new));
    } finally {
      System.setOut(stdout);
    }
    assertThat(code).isZero();
    String[] lines = captured.toString(StandardCharsets.UTF_8).strip().split("\n");
    JsonNode out = new ObjectMapper().readTree(lines[lines.length - 1]);

    try (SafetensorsFile tensors = SafetensorsFile.open(CLIP.resolve("clip-tiny/golden.safetensors"))) {
      ByteBuffer ids = tensors.map(tensors.entries().get("input_ids"));
      for (int row = 0; row < 12; row++) {
        for (int i = 0; i < 77; i++) {
          assertThat(out.get("input_ids").get(row).get(i).asLong()).isEqualTo(ids.getLong());
        }
      }
      assertClose(out.get("image_embeds"), tensors, "image_features");
      assertClose(out.get("text_embeds"), tensors, "text_features");
      assertClose(out.get("logits_per_image"), tensors, "logits_per_image");
    }
  }

  /** The parity check's bar: every value within 1e-4 of the golden. */
  private static void assertClose(JsonNode rows, SafetensorsFile tensors, String name) throws Exception {
    SafetensorsFile.Entry entry = tensors.entries().get(name);
    ByteBuffer golden = tensors.map(entry);
    assertThat(rows.size()).isEqualTo(entry.shape()[0]);
    for (JsonNode row : rows) {
      assertThat(row.size()).isEqualTo(entry.shape()[1]);
      for (JsonNode value : row) {
        assertThat(value.asDouble()).as(name).isCloseTo(golden.getFloat(), org.assertj.core.api.Assertions.offset(1e-4));
      }
    }
  }
}

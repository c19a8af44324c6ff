package io.mmstream.model.minigpt4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding the original's files from its eval config. */
class MiniGpt4FilesTest {

  @Test
  void fixtureDirectoryNamesTheOriginalsFiles() throws IOException {
    MiniGpt4Files files = MiniGpt4Files.locate(MiniGpt4Fixture.DIR);
    assertThat(files.vision().getFileName().toString()).isEqualTo("eva_vit_g.pth");
    assertThat(files.qformer().getFileName().toString()).isEqualTo("blip2_pretrained_flant5xxl.pth");
    assertThat(files.projection().getFileName().toString()).isEqualTo("prerained_minigpt4_7b.pth");
    assertThat(files.vicuna().getFileName().toString()).isEqualTo("vicuna");
    assertThat(files.imageSize()).isEqualTo(56);
    assertThat(files.numQueryTokens()).isEqualTo(4);
  }

  @Test
  void urlsNameFilesInTheDirectoryAndMissingFilesAreNamed(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve(MiniGpt4Files.EVAL_CONFIG), """
        model:
          arch: mini_gpt4
          q_former_model: "https://storage.example/BLIP2/blip2_pretrained_flant5xxl.pth"
          llama_model: "vicuna"
          ckpt: "prerained_minigpt4_7b.pth"
        """);
    assertThat(MiniGpt4Files.isMiniGpt4Directory(dir)).isTrue();
    assertThatThrownBy(() -> MiniGpt4Files.locate(dir)).isInstanceOf(IOException.class)
        .hasMessageContaining(dir.resolve("eva_vit_g.pth").toString());
    for (String name : new String[] {"eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "prerained_minigpt4_7b.pth"}) {
      Files.writeString(dir.resolve(name), "");
    }
    assertThatThrownBy(() -> MiniGpt4Files.locate(dir)).isInstanceOf(IOException.class)
        .hasMessageContaining("not an HF LLaMA directory");
    Files.createDirectories(dir.resolve("vicuna"));
    Files.writeString(dir.resolve("vicuna").resolve("config.json"), "{}");
    assertThat(MiniGpt4Files.locate(dir).qformer()).isEqualTo(dir.resolve("blip2_pretrained_flant5xxl.pth"));
  }

  @Test
  void anotherArchitectureIsRefused(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve(MiniGpt4Files.EVAL_CONFIG), "model:\n  arch: minigpt_v2\n");
    assertThatThrownBy(() -> MiniGpt4Files.locate(dir)).hasMessageContaining("minigpt_v2");
  }
}

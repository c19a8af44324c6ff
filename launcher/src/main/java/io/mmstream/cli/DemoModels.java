package io.mmstream.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model directories the demo serves (HF layout): given with {@code --models}, else the
 * trained demo models under {@code demo-models/weights/}, else the parity fixtures that ship in
 * {@code fixtures/} (real models with random weights). The chat model is looked up the same way on its own
 * ({@code chat/}, else the LLaVA fixture), so a folder without one still runs the image pipeline.
 */
public record DemoModels(Path clip, Path caption, Path vqa, Path chat, String origin) {

  /** The model directory the demo serves {@code kind} from. */
  public Path dir(io.mmstream.worker.ModelKind kind) {
    return switch (kind) {
      case CLIP -> clip;
      case CAPTION -> caption;
      case VQA -> vqa;
      case CHAT -> chat;
      default -> throw new IllegalArgumentException("the demo runs no " + kind.id() + " worker");
    };
  }

  public static DemoModels resolve(Path given, Path home) throws IOException {
    Path llavaFixture = home.resolve("fixtures/llava/llava-tiny");
    if (given != null) {
      return inFolder(given, "models from " + given, llavaFixture);
    }
    Path trained = home.resolve("demo-models/weights");
    if (Files.isDirectory(trained.resolve("clip"))) {
      return inFolder(trained, "the demo models trained on synthetic scenes (demo-models/weights)", llavaFixture);
    }
    Path fixtures = home.resolve("fixtures");
    return new DemoModels(clipFixture(fixtures), fixtures.resolve("blip/blip-tiny-caption"),
        fixtures.resolve("blip/blip-tiny-vqa"), llavaFixture,
        "the random-weight parity fixtures in fixtures/ (the real model code, untrained weights: outputs are not meaningful)");
  }

  private static DemoModels inFolder(Path folder, String origin, Path llavaFixture) {
    Path chat = folder.resolve("chat");
    boolean trainedChat = Files.isRegularFile(chat.resolve("config.json"));
    DemoModels m = new DemoModels(folder.resolve("clip"), folder.resolve("caption"), folder.resolve("vqa"),
        trainedChat ? chat : llavaFixture, trainedChat ? origin
            : origin + "; chat: the random-weight LLaVA fixture (no " + chat + ": replies are not meaningful)");
    for (Path p : new Path[] {m.clip, m.caption, m.vqa}) {
      if (!Files.isRegularFile(p.resolve("config.json"))) {
        throw new IllegalArgumentException(p + " is not a model directory (no config.json); --models needs clip/, caption/ and vqa/");
      }
    }
    return m;
  }

  /** clip-tiny keeps its tokenizer files in a sibling folder; a model directory holds both. */
  private static Path clipFixture(Path fixtures) throws IOException {
    Path parent = Files.createTempDirectory("mmstream-demo-models");
    parent.toFile().deleteOnExit();
    Path dir = Files.createDirectory(parent.resolve("clip-tiny"));
    dir.toFile().deleteOnExit();
    for (String f : new String[] {"clip-tiny/config.json", "clip-tiny/model.safetensors", "tokenizer/vocab.json",
        "tokenizer/merges.txt"}) {
      Path source = fixtures.resolve("clip").resolve(f);
      Path link = Files.createSymbolicLink(dir.resolve(source.getFileName()), source);
      link.toFile().deleteOnExit();
    }
    return dir;
  }

  String describe() {
    return "models: " + origin;
  }
}

package io.mmstream.worker.models;

import io.mmstream.schema.ModelInfo;
import io.mmstream.worker.ModelSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The {@link ModelInfo} results carry: the model family and directory name, and as revision a
 * fingerprint of the checkpoint (SHA-256 of config.json and of each weight file's name and size; weight files are
 * safetensors, or PyTorch .bin/.pth where a checkpoint ships only those).
 * Hashing the weights themselves would take minutes for the large checkpoints at every start; a new
 * download or fine-tune changes the sizes or the config in practice.
 */
final class ModelIdentity {
  private ModelIdentity() {}

  static ModelInfo of(String family, ModelSource source) {
    if (source.directory() == null) {
      return new ModelInfo(family + "/" + source.preset(), "random-weights");
    }
    Path dir = source.directory().toAbsolutePath().normalize();
    Path name = dir.getFileName();
    return new ModelInfo(family + "/" + (name == null ? dir : name), fingerprint(dir));
  }

  private static boolean isWeightFile(String name) {
    return name.endsWith(".safetensors") || name.endsWith(".bin") || name.endsWith(".pth");
  }

  private static String fingerprint(Path dir) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      Path config = dir.resolve("config.json");
      if (Files.isRegularFile(config)) {
        sha.update(Files.readAllBytes(config));
      }
      List<Path> weights;
      try (Stream<Path> files = Files.list(dir)) {
        weights = files.filter(f -> isWeightFile(f.getFileName().toString())).sorted().toList();
      }
      for (Path file : weights) {
        sha.update((file.getFileName() + ":" + Files.size(file) + "\n").getBytes(StandardCharsets.UTF_8));
      }
      return "sha256:" + HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot fingerprint " + dir, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package io.mmstream.model.blip2;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.tensor.SafetensorsFile;
import io.mmstream.model.tensor.SafetensorsWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint forms of the published repos: BF16 tensors (widened on CPU) and T5's stored {@code embed_tokens} aliases
 * of {@code shared}, on blip2-t5-tiny.
 */
class Blip2CheckpointFormsTest {
  private static final Path T5_TINY = Blip2Fixture.ROOT.resolve("blip2/blip2-t5-tiny");
  private static final String SHARED = "language_model.shared.weight";

  @TempDir Path temp;

  @Test
  void bf16CheckpointWithEmbeddingAliasesGeneratesCloseToFloat32() throws Exception {
    try (Stream<Path> files = Files.list(T5_TINY)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        if (!file.getFileName().toString().equals("model.safetensors")) {
          Files.copy(file, temp.resolve(file.getFileName()));
        }
      }
    }
    try (SafetensorsFile source = SafetensorsFile.open(T5_TINY.resolve("model.safetensors"))) {
      SafetensorsWriter half = new SafetensorsWriter();
      for (SafetensorsFile.Entry e : source.entries().values()) {
        half.add(e.name(), "BF16", e.shape(), toBf16(source.map(e)));
        if (e.name().equals(SHARED)) {
          for (String alias : List.of("language_model.encoder.embed_tokens.weight",
              "language_model.decoder.embed_tokens.weight")) {
            half.add(alias, "BF16", e.shape(), toBf16(source.map(e)));
          }
        }
      }
      half.write(temp.resolve("model.safetensors"));
    }
    Blip2Fixture fixture = new Blip2Fixture("blip2", "blip2-t5-tiny");
    try (fixture; NDManager manager = NDManager.newBaseManager()) {
      PixelImage image = fixture.image("images/red_circle.png");
      GenerationRequest request = GenerationRequest.of(image, "");
      DecodingOptions greedy = DecodingOptions.greedy(2).withLogits();
      float[] reference;
      try (VisionLanguageModel model = VisionLanguageModels.load(T5_TINY, manager)) {
        reference = model.generate(List.of(request), greedy).get(0).stepLogits()[0];
      }
      try (VisionLanguageModel model = VisionLanguageModels.load(temp, manager)) {
        assertThat(model.modelType()).isEqualTo("blip-2/t5");
        float[] widened = model.generate(List.of(request), greedy).get(0).stepLogits()[0];
        float worst = 0;
        float largest = 0;
        for (int v = 0; v < reference.length; v++) {
          worst = Math.max(worst, Math.abs(widened[v] - reference[v]));
          largest = Math.max(largest, Math.abs(reference[v]));
        }
        // bfloat16 keeps 8 mantissa bits: logits move, but by a small fraction of their range.
        assertThat(worst).isGreaterThan(0f).isLessThan(0.05f * largest);
      }
    }
  }

  private static ByteBuffer toBf16(ByteBuffer f32) {
    ByteBuffer in = f32.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer out = ByteBuffer.allocate(in.remaining() / 2).order(ByteOrder.LITTLE_ENDIAN);
    while (in.hasRemaining()) {
      out.putShort((short) (in.getInt() >>> 16));
    }
    return out.flip();
  }
}

package io.mmstream.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.UnaryOperator;

/**
 * One visual chat model's real shapes for {@code bench chat}: it builds its two halves with random weights so
 * each can be timed alone on a small machine. A family adds itself to {@link BenchChatCommand#PRESETS}.
 */
interface ChatBenchPreset {

  /** The {@code --preset} name, e.g. {@code llava-1.5-7b-shapes}. */
  String name();

  /** The released checkpoint's weight precision (safetensors dtype name, e.g. {@code F16}). */
  String storedPrecision();

  /** The vision side (tower and connector) at real shapes. */
  VisionPart vision(NDManager manager, DataType type, long seed);

  /** The language model with {@code layers} real-shape decoder layers (and the real embedding and head). */
  LanguagePart language(NDManager manager, DataType type, int layers, long seed);

  /** What frees a part's weights; nothing for parts whose weights live only in the caller's manager. */
  interface Release {
    void close() throws IOException;
  }

  /** Generates exactly {@code newTokens} after {@code inputsEmbeds [1, S, D]}, with the KV cache. */
  interface Generation {
    void generate(NDArray inputsEmbeds, int newTokens);
  }

  /**
   * Images to language-model input rows.
   *
   * @param encoder {@code pixels [B, 3, S, S]} to the rows the language model receives for them
   */
  record VisionPart(int imageSize, UnaryOperator<NDArray> encoder, Release release) implements AutoCloseable {
    NDArray encode(NDArray pixels) {
      return encoder.apply(pixels);
    }

    @Override
    public void close() {
      releaseUnchecked(release);
    }
  }

  /**
   * The decoder, timed from input embeddings (image rows and prompt) on.
   *
   * @param imageTokens language-model positions one image takes
   */
  record LanguagePart(int imageTokens, int hiddenSize, Generation generation, Release release)
      implements AutoCloseable {
    void generate(NDArray inputsEmbeds, int newTokens) {
      generation.generate(inputsEmbeds, newTokens);
    }

    @Override
    public void close() {
      releaseUnchecked(release);
    }
  }

  private static void releaseUnchecked(Release release) {
    try {
      release.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

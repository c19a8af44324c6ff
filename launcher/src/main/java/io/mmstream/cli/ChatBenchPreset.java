package io.mmstream.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

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

  /** Images to language-model input rows. */
  interface VisionPart extends AutoCloseable {
    int imageSize();

    /** {@code pixels [B, 3, S, S]} to the rows the language model receives for them. */
    NDArray encode(NDArray pixels);

    @Override
    void close();
  }

  /** The decoder, timed from input embeddings (image rows and prompt) on. */
  interface LanguagePart extends AutoCloseable {
    /** Language-model positions one image takes. */
    int imageTokens();

    int hiddenSize();

    /** Generates exactly {@code newTokens} after {@code inputsEmbeds [1, S, D]}, with the KV cache. */
    void generate(NDArray inputsEmbeds, int newTokens);

    @Override
    void close();
  }
}

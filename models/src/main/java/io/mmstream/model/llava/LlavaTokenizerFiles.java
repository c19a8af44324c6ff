package io.mmstream.model.llava;

import io.mmstream.model.llama.LlamaTokenizer;
import java.io.IOException;
import java.nio.file.Path;

/** Opens the tokenizer a llava-hf directory ships: {@code tokenizer.model} (sentencepiece) and its config. */
final class LlavaTokenizerFiles {
  private LlavaTokenizerFiles() {}

  static LlamaTokenizer open(Path dir) throws IOException {
    throw new IOException(dir + ": reading tokenizer.model needs the sentencepiece reader");
  }
}

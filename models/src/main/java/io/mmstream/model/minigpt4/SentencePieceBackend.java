package io.mmstream.model.minigpt4;

import java.io.IOException;
import java.nio.file.Path;

/** Vicuna's {@code tokenizer.model} through the project's sentencepiece reader. */
final class SentencePieceBackend {
  private SentencePieceBackend() {}

  static VicunaTokenizer.Backend open(Path dir) throws IOException {
    throw new IOException(dir + ": no tokenizer.json, and the sentencepiece reader is not merged yet");
  }
}

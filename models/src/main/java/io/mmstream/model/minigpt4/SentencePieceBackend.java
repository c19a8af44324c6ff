package io.mmstream.model.minigpt4;

import io.mmstream.model.tokenizer.SentencePieceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Vicuna's {@code tokenizer.model} through the project's sentencepiece reader, used as transformers 4.28's legacy
 * {@code LlamaTokenizer} uses it: {@code sp_model.encode(text)} with the model's own dummy prefix, and
 * {@code sp_model.decode(pieces)} (which drops the first piece's {@code ▁}) for each run between special tokens.
 */
final class SentencePieceBackend implements VicunaTokenizer.Backend {
  public static final String MODEL_FILE = "tokenizer.model";

  private final SentencePieceTokenizer pieces;

  private SentencePieceBackend(SentencePieceTokenizer pieces) {
    this.pieces = pieces;
  }

  static SentencePieceBackend open(Path dir) throws IOException {
    return new SentencePieceBackend(SentencePieceTokenizer.load(dir.resolve(MODEL_FILE)));
  }

  @Override
  public long[] encode(String text) {
    int[] ids = pieces.encode(text);
    long[] out = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = ids[i];
    }
    return out;
  }

  @Override
  public String decode(long[] ids) {
    List<String> run = new ArrayList<>();
    for (long id : ids) {
      run.add(pieces.idToPiece(Math.toIntExact(id)));
    }
    return pieces.decodePieces(run);
  }

  @Override
  public Optional<Long> pieceId(String piece) {
    return pieces.hasPiece(piece) ? Optional.of((long) pieces.pieceToId(piece)) : Optional.empty();
  }

  @Override
  public String piece(long id) {
    return pieces.idToPiece(Math.toIntExact(id));
  }

  @Override
  public void close() {}
}

package io.mmstream.model.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.mmstream.model.generation.IncrementalDecoder;

/**
 * The T5 decoder over a fixed encoder output, as seen by {@link io.mmstream.model.generation.SequenceGenerator}:
 * the caller's prompts are the decoder start ids, each step feeds the new tokens through the cached decoder.
 */
public final class T5DecoderSession implements IncrementalDecoder, AutoCloseable {
  private static final NDIndex LAST_POSITION = new NDIndex(":, -1, :");

  private final T5ForConditionalGeneration model;
  private final T5DecoderState state;

  public T5DecoderSession(T5ForConditionalGeneration model, NDArray encoderOutput, NDArray encoderMask) {
    this.model = model;
    this.state = model.newDecoderState(encoderOutput, encoderMask);
  }

  @Override
  public NDArray append(long[][] tokens) {
    try (NDManager step = state.manager().newSubManager()) {
      NDArray hidden = model.decode(step.create(tokens), state);
      NDArray logits = model.logits(hidden.get(LAST_POSITION));
      logits.attach(state.manager());
      return logits;
    }
  }

  @Override
  public void selectRows(long[] rows) {
    try (NDManager step = state.manager().newSubManager()) {
      state.selectRows(step.create(rows));
    }
  }

  @Override
  public void close() {
    state.close();
  }
}

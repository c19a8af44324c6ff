package io.mmstream.model.chat;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.generation.IncrementalDecoder;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Passes a reply's text to a sink while a greedy search produces it, as transformers' {@code TextStreamer}
 * does for the original chat loops: every token fed back to the decoder is decoded with the ones before it, and
 * the text not yet sent goes out; text that ends in an incomplete UTF-8 sequence (U+FFFD) waits for the next
 * token. {@link #finish} sends what the last token added (the search stops without feeding it back).
 */
public final class TextStreamer {
  private static final char REPLACEMENT = '\uFFFD';

  private final Function<long[], String> decode;
  private final Consumer<String> sink;
  private long[] ids = new long[0];
  private int sent;

  /** @param decode the model's decoding of generated ids, special tokens left out */
  public TextStreamer(Function<long[], String> decode, Consumer<String> sink) {
    this.decode = decode;
    this.sink = sink;
  }

  /** {@code decoder}, reporting each token fed to row 0 (single-row greedy search). */
  public IncrementalDecoder watch(IncrementalDecoder decoder) {
    return new IncrementalDecoder() {
      @Override
      public NDArray append(long[][] tokens) {
        if (tokens.length > 0) {
          add(tokens[0]);
        }
        return decoder.append(tokens);
      }

      @Override
      public void selectRows(long[] rows) {
        decoder.selectRows(rows);
      }
    };
  }

  /** Sends whatever of {@code allIds} (the generated ids) has not been sent, including a trailing U+FFFD. */
  public void finish(long[] allIds) {
    ids = allIds.clone();
    flush(true);
  }

  private void add(long[] tokens) {
    long[] grown = Arrays.copyOf(ids, ids.length + tokens.length);
    System.arraycopy(tokens, 0, grown, ids.length, tokens.length);
    ids = grown;
    flush(false);
  }

  private void flush(boolean last) {
    String text = decode.apply(ids);
    if (!last && !text.isEmpty() && text.charAt(text.length() - 1) == REPLACEMENT) {
      return;
    }
    if (text.length() > sent) {
      sink.accept(text.substring(sent));
      sent = text.length();
    }
  }
}

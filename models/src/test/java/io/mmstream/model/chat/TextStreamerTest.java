package io.mmstream.model.chat;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.generation.IncrementalDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamerTest {
  /** Ids are bytes; decoding is lenient UTF-8, as a byte-fallback tokenizer decodes. */
  private static String decode(long[] ids) {
    byte[] bytes = new byte[ids.length];
    for (int i = 0; i < ids.length; i++) {
      bytes[i] = (byte) ids[i];
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  @Test
  void sendsEachFedTokenAndHoldsIncompleteCharactersBack() {
    List<String> sent = new ArrayList<>();
    TextStreamer streamer = new TextStreamer(TextStreamerTest::decode, sent::add);
    try (NDManager manager = NDManager.newBaseManager()) {
      IncrementalDecoder inner = new IncrementalDecoder() {
        @Override
        public NDArray append(long[][] tokens) {
          return manager.zeros(new ai.djl.ndarray.types.Shape(1, 4));
        }

        @Override
        public void selectRows(long[] rows) {}
      };
      IncrementalDecoder watched = streamer.watch(inner);
      byte[] e = "é".getBytes(StandardCharsets.UTF_8);
      long[] all = {'h', 'i', e[0] & 0xFF, e[1] & 0xFF, '!'};
      watched.append(new long[][] {{}});
      for (int i = 0; i < all.length - 1; i++) {
        watched.append(new long[][] {{all[i]}});
      }
      streamer.finish(all);
    }
    assertThat(sent).containsExactly("h", "i", "é", "!");
  }
}

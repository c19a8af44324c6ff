package io.mmstream.model.chatglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.nn.LayerScope;

/**
 * ChatGLM continuing a prompt with its KV cache, as {@link io.mmstream.model.generation.SequenceGenerator} sees
 * it: the first {@link #append} takes the whole prompt (ending {@code [gMASK] <sop>}) under the prefix mask;
 * each later one takes a single token at position {@code [mask position, block step]} and sees everything cached.
 * Cached keys are stored after rotary, as the original's {@code past_key_values}.
 */
public final class ChatGlmDecoderSession implements IncrementalDecoder, AutoCloseable {
  private static final NDIndex LAST_POSITION = new NDIndex(":, -1, :");

  private final ChatGlmModel model;
  private final NDManager manager;
  private final LlamaKvCache cache;
  private NDArray promptEmbeds;
  private GlmPrefix prefix;
  private int length;

  /**
   * @param promptEmbeds {@code [1, L, H]}: the prompt's input embeddings when they are not just its word
   *     embeddings (image features spliced in); null to embed the prompt ids
   */
  public ChatGlmDecoderSession(ChatGlmModel model, NDManager parent, NDArray promptEmbeds) {
    this.model = model;
    this.manager = parent.newSubManager();
    this.cache = model.newCache(manager);
    if (promptEmbeds != null) {
      this.promptEmbeds = promptEmbeds.duplicate();
      this.promptEmbeds.attach(manager);
    }
  }

  @Override
  public NDArray append(long[][] tokens) {
    int rows = tokens.length;
    int count = tokens[0].length;
    try (NDManager step = manager.newSubManager()) {
      NDArray embeds;
      long[][][] positions = new long[rows][][];
      NDArray mask = null;
      if (prefix == null) {
        long[] ids = tokens[0];
        prefix = GlmPrefix.of(ids, model.config());
        if (promptEmbeds != null && promptEmbeds.getShape().get(1) != count) {
          throw new IllegalArgumentException(
              "prompt of " + count + " ids for " + promptEmbeds.getShape().get(1) + " prompt embeddings");
        }
        embeds = promptEmbeds != null
            ? promptEmbeds.get(step, new NDIndex("...")).repeat(0, rows)
            : model.embed(step.create(tokens));
        for (int r = 0; r < rows; r++) {
          positions[r] = prefix.positionIds(count);
        }
        mask = prefix.additiveMask(step, count);
      } else {
        if (count != 1) {
          throw new IllegalArgumentException("after the prompt, tokens are fed one at a time, got " + count);
        }
        embeds = model.embed(step.create(tokens));
        long[] at = prefix.positionAt(length);
        for (int r = 0; r < rows; r++) {
          positions[r] = new long[][] {{at[0]}, {at[1]}};
        }
      }
      NDArray positionIds = step.create(flatten(positions), new Shape(rows, 2, count));
      NDArray stepMask = mask;
      NDArray logits = LayerScope.apply(embeds, x ->
          model.logits(model.hiddenStates(x, positionIds, stepMask, cache, null).get(LAST_POSITION)));
      logits.attach(manager);
      length += count;
      if (promptEmbeds != null) {
        promptEmbeds.close();
        promptEmbeds = null;
      }
      return logits;
    }
  }

  private static long[] flatten(long[][][] positions) {
    int rows = positions.length;
    int count = positions[0][0].length;
    long[] out = new long[rows * 2 * count];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(positions[r][0], 0, out, r * 2 * count, count);
      System.arraycopy(positions[r][1], 0, out, r * 2 * count + count, count);
    }
    return out;
  }

  @Override
  public void selectRows(long[] rows) {
    try (NDManager step = manager.newSubManager()) {
      cache.selectRows(step.create(rows));
    }
  }

  @Override
  public void close() {
    cache.close();
    manager.close();
  }
}

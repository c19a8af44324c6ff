package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.nn.LayerScope;

/**
 * The LLaMA language model continuing a prefix of input embeddings (visual tokens and prompt), as
 * seen by {@link io.mmstream.model.generation.SequenceGenerator}. The prefix enters on the first
 * {@link #append}; later tokens are embedded one step at a time.
 *
 * <p>With the KV cache each step feeds only the new tokens; without it every step reruns the whole
 * sequence, which is what the original computes and what the cached path must reproduce.
 */
public final class LlamaPrefixDecoder implements IncrementalDecoder, AutoCloseable {
  private static final NDIndex LAST_POSITION = new NDIndex(":, -1, :");
  private static final NDIndex ALL = new NDIndex("...");

  private final LlamaForCausalLM languageModel;
  private final NDManager manager;
  private final LlamaKvCache cache;
  /** The prefix not fed yet; with no cache, every embedding fed so far. */
  private NDArray pendingOrAllEmbeds;
  private boolean prefixFed;
  /** 1 for real positions, 0 for padding, over every position fed (and the pending prefix). */
  private NDArray mask;

  /**
   * @param prefixEmbeds {@code [B, P, D]} (copied)
   * @param prefixMask {@code [B, P]} (copied)
   */
  public LlamaPrefixDecoder(LlamaForCausalLM languageModel, NDArray prefixEmbeds, NDArray prefixMask, boolean useKvCache) {
    this.languageModel = languageModel;
    this.manager = prefixEmbeds.getManager().newSubManager();
    this.cache = useKvCache ? languageModel.newCache(manager) : null;
    this.pendingOrAllEmbeds = prefixEmbeds.duplicate();
    this.pendingOrAllEmbeds.attach(manager);
    this.mask = prefixMask.toType(DataType.INT64, true);
    this.mask.attach(manager);
  }

  @Override
  public NDArray append(long[][] tokens) {
    int rows = tokens.length;
    int count = rows == 0 ? 0 : tokens[0].length;
    if (count == 0 && prefixFed) {
      throw new IllegalArgumentException("nothing to append");
    }
    try (NDManager step = manager.newSubManager()) {
      NDArray fed = pendingOrAllEmbeds;
      if (count > 0) {
        NDArray embedded = languageModel.embed(step.create(tokens));
        fed = prefixFed ? embedded : pendingOrAllEmbeds.get(step, ALL).concat(embedded, 1);
        mask = replace(mask, mask.concat(step.ones(new Shape(rows, count), DataType.INT64), 1));
      }
      NDArray input = fed;
      if (cache == null) {
        if (prefixFed) {
          pendingOrAllEmbeds = replace(pendingOrAllEmbeds, pendingOrAllEmbeds.concat(fed, 1));
        } else if (fed != pendingOrAllEmbeds) {
          pendingOrAllEmbeds = replace(pendingOrAllEmbeds, fed);
        }
        input = pendingOrAllEmbeds;
      }
      NDArray logits = LayerScope.apply(input, x -> {
        NDArray stepMask = mask.get(x.getManager(), ALL);
        NDArray positions = LlamaModel.positionsFromMask(stepMask, x.getShape().get(1));
        NDArray hidden = languageModel.hiddenStates(x, stepMask, positions, cache);
        return languageModel.logits(hidden.get(LAST_POSITION));
      });
      logits.attach(manager);
      if (cache != null && !prefixFed) {
        pendingOrAllEmbeds.close();
        pendingOrAllEmbeds = null;
      }
      prefixFed = true;
      return logits;
    }
  }

  @Override
  public void selectRows(long[] rows) {
    try (NDManager step = manager.newSubManager()) {
      NDArray index = step.create(rows);
      mask = replace(mask, mask.get(index));
      if (pendingOrAllEmbeds != null) {
        pendingOrAllEmbeds = replace(pendingOrAllEmbeds, pendingOrAllEmbeds.get(index));
      }
      if (cache != null) {
        cache.selectRows(index);
      }
    }
  }

  private NDArray replace(NDArray old, NDArray fresh) {
    fresh.attach(manager);
    if (old != fresh) {
      old.close();
    }
    return fresh;
  }

  @Override
  public void close() {
    if (cache != null) {
      cache.close();
    }
    manager.close();
  }
}

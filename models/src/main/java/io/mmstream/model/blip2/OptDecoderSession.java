package io.mmstream.model.blip2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.opt.OptForCausalLM;

/**
 * OPT continuing a prefix of input embeddings (visual queries and prompt) with a KV cache, as seen by
 * {@link io.mmstream.model.generation.SequenceGenerator}: the prefix enters on the first {@link #append}, then one
 * embedded token per row per step; positions follow the attention mask.
 */
final class OptDecoderSession implements IncrementalDecoder, AutoCloseable {
  private static final NDIndex LAST_POSITION = new NDIndex(":, -1, :");
  private static final NDIndex ALL = new NDIndex("...");

  private final OptForCausalLM languageModel;
  private final NDManager manager;
  private final LlamaKvCache cache;
  /** The prefix until it is fed. */
  private NDArray pendingPrefix;
  /** 1 for real positions, 0 for padding, over every position fed (and the pending prefix). */
  private NDArray mask;

  OptDecoderSession(OptForCausalLM languageModel, NDArray prefixEmbeds, NDArray prefixMask) {
    this.languageModel = languageModel;
    this.manager = prefixEmbeds.getManager().newSubManager();
    this.cache = languageModel.newCache(manager);
    this.pendingPrefix = prefixEmbeds.duplicate();
    this.pendingPrefix.attach(manager);
    this.mask = prefixMask.toType(DataType.INT64, true);
    this.mask.attach(manager);
  }

  @Override
  public NDArray append(long[][] tokens) {
    int rows = tokens.length;
    int count = rows == 0 ? 0 : tokens[0].length;
    if (count == 0 && pendingPrefix == null) {
      throw new IllegalArgumentException("nothing to append");
    }
    try (NDManager step = manager.newSubManager()) {
      NDArray fed = pendingPrefix == null ? null : pendingPrefix.get(step, ALL);
      if (count > 0) {
        NDArray embedded = languageModel.embed(step.create(tokens));
        fed = fed == null ? embedded : fed.concat(embedded, 1);
        NDArray grown = mask.concat(step.ones(new Shape(rows, count), DataType.INT64), 1);
        grown.attach(manager);
        mask.close();
        mask = grown;
      }
      NDArray logits = LayerScope.apply(fed, x -> {
        NDArray hidden = languageModel.hiddenStates(x, mask.get(x.getManager(), ALL), cache);
        return languageModel.logits(hidden.get(LAST_POSITION));
      });
      logits.attach(manager);
      if (pendingPrefix != null) {
        pendingPrefix.close();
        pendingPrefix = null;
      }
      return logits;
    }
  }

  @Override
  public void selectRows(long[] rows) {
    try (NDManager step = manager.newSubManager()) {
      NDArray index = step.create(rows);
      mask = replace(mask, mask.get(index));
      if (pendingPrefix != null) {
        pendingPrefix = replace(pendingPrefix, pendingPrefix.get(index));
      }
      cache.selectRows(index);
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
    cache.close();
    manager.close();
  }
}

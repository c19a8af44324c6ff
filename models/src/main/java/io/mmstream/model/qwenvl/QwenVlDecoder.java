package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.qwen.QwenLMHeadModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Qwen-VL's KV-cached decoding of one prompt: the prompt's embeddings (image rows already in place) at the first call,
 * then one token per row per step. Dynamic NTK's alpha is fixed at the prefill and kept, as the original's cache does.
 * The original's {@code StopWordsLogitsProcessor} is applied to the logits handed to the search: a row whose sequence
 * ends with a stop word gets {@code <|endoftext|>} forced (score 2^15), so the search stops there; the raw logits are
 * kept aside for {@link #rawLogits()}. The prompt's embeddings stay the caller's.
 */
public final class QwenVlDecoder implements IncrementalDecoder, AutoCloseable {
  /** The score the original's stop-words processor gives {@code <|endoftext|>}. */
  private static final float FORCED_SCORE = 32768f;

  private final QwenLMHeadModel language;
  private final NDManager manager;
  private final LlamaKvCache cache;
  private final Set<Long> stopWords;
  private final long endOfText;
  private final LongConsumer firstRowTokens;
  private final boolean recordLogits;
  private final List<float[]> rawFirstRow = new ArrayList<>();
  private NDArray prefix;
  private long[] lastTokens;
  private int ntkAlpha;

  /**
   * @param prefix the prompt's embeddings [1, L, D]
   * @param lastPromptId the prompt's last id (a stop word there would force the end at once)
   * @param firstRowTokens receives every token fed to row 0 (streaming); may do nothing
   * @param recordLogits keep each step's raw logits for {@link #rawLogits()}
   */
  public QwenVlDecoder(QwenLMHeadModel language, NDManager manager, NDArray prefix, long lastPromptId, Set<Long> stopWords,
      long endOfText, LongConsumer firstRowTokens, boolean recordLogits) {
    this.language = language;
    this.manager = manager;
    this.cache = language.newCache(manager);
    this.prefix = prefix;
    this.lastTokens = new long[] {lastPromptId};
    this.stopWords = stopWords;
    this.endOfText = endOfText;
    this.firstRowTokens = firstRowTokens;
    this.recordLogits = recordLogits;
  }

  @Override
  public NDArray append(long[][] tokens) {
    NDArray embeds;
    boolean stepEmbeds = prefix == null;
    if (prefix != null) {
      embeds = prefix;
      prefix = null;
      ntkAlpha = language.transformer().ntkAlpha(embeds.getShape().get(1));
    } else {
      for (int r = 0; r < tokens.length; r++) {
        lastTokens[r] = tokens[r][tokens[r].length - 1];
      }
      firstRowTokens.accept(lastTokens[0]);
      try (NDArray ids = manager.create(tokens)) {
        embeds = language.transformer().embed(ids);
      }
    }
    NDArray hidden = language.transformer().forward(embeds, cache, ntkAlpha);
    long t = hidden.getShape().get(1);
    // Float32 for the search whatever the compute precision (argmax is unchanged; scores are read on the host).
    NDArray logits = language.logits(hidden.get(new NDIndex(":, {}", t - 1))).toType(DataType.FLOAT32, false);
    hidden.close();
    if (stepEmbeds) {
      embeds.close();
    }
    if (recordLogits && lastTokens.length == 1) {
      rawFirstRow.add(logits.toFloatArray());
    }
    for (int r = 0; r < lastTokens.length; r++) {
      if (stopWords.contains(lastTokens[r])) {
        logits.set(new NDIndex("{}, {}", r, endOfText), FORCED_SCORE);
      }
    }
    return logits;
  }

  @Override
  public void selectRows(long[] rows) {
    long[] tokens = new long[rows.length];
    for (int i = 0; i < rows.length; i++) {
      tokens[i] = lastTokens[(int) rows[i]];
    }
    lastTokens = tokens;
    NDArray index = manager.create(rows);
    if (prefix != null) {
      prefix = prefix.get(index);
    } else {
      cache.selectRows(index);
    }
    index.close();
  }

  /** The unprocessed logits of every step while decoding one row (greedy search). */
  public float[][] rawLogits() {
    return rawFirstRow.toArray(new float[0][]);
  }

  @Override
  public void close() {
    cache.close();
  }
}

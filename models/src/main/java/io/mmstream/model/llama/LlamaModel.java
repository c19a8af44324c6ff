package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/** Token embedding, the decoder layers and the final RMSNorm ({@code LlamaModel} in HF). */
public final class LlamaModel {
  private final LlamaConfig config;
  private final NDArray tokenEmbeddings;
  private final List<LlamaDecoderLayer> layers;
  private final RmsNorm finalNorm;
  private final RotaryEmbedding rotary;

  private LlamaModel(
      LlamaConfig config, NDArray tokenEmbeddings, List<LlamaDecoderLayer> layers, RmsNorm finalNorm,
      RotaryEmbedding rotary) {
    this.config = config;
    this.tokenEmbeddings = tokenEmbeddings;
    this.layers = layers;
    this.finalNorm = finalNorm;
    this.rotary = rotary;
  }

  public static LlamaModel load(Weights w, LlamaConfig c) {
    NDArray embeddings = w.sub("embed_tokens").get("weight", c.vocabSize(), c.hiddenSize());
    List<LlamaDecoderLayer> layers = new ArrayList<>();
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      layers.add(LlamaDecoderLayer.load(w.sub("layers").sub(i), c));
    }
    RmsNorm norm = RmsNorm.load(w.sub("norm"), c.hiddenSize(), c.rmsNormEps());
    return new LlamaModel(c, embeddings, layers, norm, new RotaryEmbedding(w.manager(), c.headDim(), c.ropeTheta()));
  }

  public LlamaConfig config() {
    return config;
  }

  NDArray tokenEmbeddings() {
    return tokenEmbeddings;
  }

  /** Embeddings of integer ids of any shape S: S x D. */
  public NDArray embed(NDArray ids) {
    return Embedding.embedding(ids.toType(DataType.INT64, false), tokenEmbeddings, SparseFormat.DENSE)
        .singletonOrThrow();
  }

  /**
   * The final-normed hidden states [B, T, D] of T new positions.
   *
   * @param inputsEmbeds [B, T, D]
   * @param attentionMask [B, past + T], 1 for real positions and 0 for padding; null means all real
   * @param positions rotary positions [B, T] (see {@link #positionsFromMask})
   * @param cache extended with the new positions when non-null (its length is {@code past})
   */
  public NDArray forward(NDArray inputsEmbeds, NDArray attentionMask, NDArray positions, LlamaKvCache cache) {
    NDArray h = run(inputsEmbeds, attentionMask, positions, cache, layers.size());
    NDArray out = LayerScope.apply(h, finalNorm::forward);
    if (h != inputsEmbeds) {
      h.close();
    }
    return out;
  }

  /** The output [B, T, D] of the first {@code layerCount} decoder layers, without cache or final norm. */
  public NDArray layerOutput(int layerCount, NDArray inputsEmbeds, NDArray attentionMask, NDArray positions) {
    if (layerCount < 0 || layerCount > layers.size()) {
      throw new IllegalArgumentException("layer count " + layerCount + " outside 0.." + layers.size());
    }
    return run(inputsEmbeds, attentionMask, positions, null, layerCount);
  }

  private NDArray run(
      NDArray inputsEmbeds, NDArray attentionMask, NDArray positions, LlamaKvCache cache, int layerCount) {
    long past = cache == null ? 0 : cache.length();
    NDArray mask = additiveMask(inputsEmbeds.getManager(), inputsEmbeds.getShape().get(0),
        inputsEmbeds.getShape().get(1), past, attentionMask);
    NDList tables = rotary.tables(positions, inputsEmbeds.getDataType());
    NDArray h = inputsEmbeds;
    for (int i = 0; i < layerCount; i++) {
      LlamaDecoderLayer layer = layers.get(i);
      int index = i;
      NDArray input = h;
      h = LayerScope.apply(input, x -> layer.forward(x, rotary, tables, mask, cache, index));
      if (input != inputsEmbeds) {
        input.close();
      }
    }
    mask.close();
    tables.close();
    return h;
  }

  /**
   * Positions as HF's LLaMA generation derives them: running count of real positions minus one,
   * padding at 1. Left padding (LAVIS puts it between the visual queries and the prompt) therefore
   * leaves every real token at the position it has without padding. Returns the last
   * {@code newTokens} columns.
   */
  public static NDArray positionsFromMask(NDArray attentionMask, long newTokens) {
    NDArray real = attentionMask.toType(DataType.INT64, false);
    NDArray positions = real.cumSum(1).sub(1).mul(real).add(real.neg().add(1));
    long total = positions.getShape().get(1);
    return positions.get(":, " + (total - newTokens) + ":");
  }

  /** 0 where a query may attend a key (causal and not padding), the float32 minimum elsewhere. */
  private static NDArray additiveMask(NDManager manager, long batch, long newTokens, long past, NDArray attentionMask) {
    long keys = past + newTokens;
    NDArray keyIndex = manager.arange(0, (int) keys, 1, DataType.INT64).reshape(1, keys);
    NDArray queryIndex = manager.arange((int) past, (int) keys, 1, DataType.INT64).reshape(newTokens, 1);
    NDArray allowed = keyIndex.lte(queryIndex).reshape(1, 1, newTokens, keys);
    if (attentionMask != null) {
      allowed = allowed.logicalAnd(attentionMask.neq(0).reshape(batch, 1, 1, keys));
    }
    return allowed.logicalNot().toType(DataType.FLOAT32, false).mul(-Float.MAX_VALUE);
  }
}

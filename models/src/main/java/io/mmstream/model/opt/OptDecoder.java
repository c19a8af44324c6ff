package io.mmstream.model.opt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * HF {@code OPTDecoder}: token embeddings (projected in when narrower than the hidden size), learned positions taken
 * from the attention mask with offset 2, the blocks, the final LayerNorm where configured, and the projection out.
 */
public final class OptDecoder {
  private final OptConfig config;
  private final NDArray tokenEmbeddings;
  private final NDArray positionEmbeddings;
  private final Linear projectIn;
  private final Linear projectOut;
  private final List<OptDecoderLayer> layers;
  private final LayerNorm finalLayerNorm;

  private OptDecoder(OptConfig config, NDArray tokenEmbeddings, NDArray positionEmbeddings, Linear projectIn,
      Linear projectOut, List<OptDecoderLayer> layers, LayerNorm finalLayerNorm) {
    this.config = config;
    this.tokenEmbeddings = tokenEmbeddings;
    this.positionEmbeddings = positionEmbeddings;
    this.projectIn = projectIn;
    this.projectOut = projectOut;
    this.layers = layers;
    this.finalLayerNorm = finalLayerNorm;
  }

  /** Loads {@code embed_tokens}, {@code embed_positions}, {@code layers.i}, … under {@code w} ({@code model.decoder}). */
  public static OptDecoder load(Weights w, OptConfig c) {
    int d = c.hiddenSize();
    int e = c.wordEmbedProjDim();
    List<OptDecoderLayer> layers = new ArrayList<>();
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      layers.add(OptDecoderLayer.load(w.sub("layers").sub(i), c));
    }
    boolean projected = e != d;
    return new OptDecoder(
        c,
        w.sub("embed_tokens").get("weight", c.vocabSize(), e),
        w.sub("embed_positions").get("weight", c.maxPositionEmbeddings() + OptConfig.POSITION_OFFSET, d),
        projected ? Linear.load(w.sub("project_in"), e, d, false) : null,
        projected ? Linear.load(w.sub("project_out"), d, e, false) : null,
        layers,
        c.hasFinalLayerNorm() ? LayerNorm.load(w.sub("final_layer_norm"), d, OptConfig.LAYER_NORM_EPS) : null);
  }

  public OptConfig config() {
    return config;
  }

  /** The token embedding matrix {@code [V, word_embed_proj_dim]} (the tied LM head). */
  public NDArray tokenEmbeddings() {
    return tokenEmbeddings;
  }

  /** Token embeddings {@code [..., word_embed_proj_dim]} of ids of any shape. */
  public NDArray embed(NDArray ids) {
    return Embedding.embedding(ids.toType(DataType.INT64, false), tokenEmbeddings, SparseFormat.DENSE)
        .singletonOrThrow();
  }

  /**
   * Hidden states {@code [B, T, word_embed_proj_dim]} of T new positions, after the final norm and projection out.
   *
   * @param inputsEmbeds {@code [B, T, word_embed_proj_dim]}
   * @param attentionMask {@code [B, past + T]}, 1 for real positions and 0 for padding
   * @param cache extended with the new positions when non-null (its length is {@code past})
   */
  public NDArray forward(NDArray inputsEmbeds, NDArray attentionMask, LlamaKvCache cache) {
    NDManager manager = inputsEmbeds.getManager();
    long batch = inputsEmbeds.getShape().get(0);
    long newTokens = inputsEmbeds.getShape().get(1);
    long past = cache == null ? 0 : cache.length();
    NDArray positions = positionsFromMask(attentionMask, newTokens).add(OptConfig.POSITION_OFFSET);
    NDArray positional = Embedding.embedding(positions, positionEmbeddings, SparseFormat.DENSE).singletonOrThrow();
    NDArray embeds = projectIn == null ? inputsEmbeds : projectIn.forward(inputsEmbeds);
    NDArray h = embeds.add(positional.toType(embeds.getDataType(), false));
    NDArray mask = additiveMask(manager, batch, newTokens, past, attentionMask);
    for (int i = 0; i < layers.size(); i++) {
      OptDecoderLayer layer = layers.get(i);
      int index = i;
      NDArray input = h;
      h = LayerScope.apply(input, x -> layer.forward(x, mask, cache, index));
      input.close();
    }
    NDArray out = h;
    if (finalLayerNorm != null) {
      out = LayerScope.apply(h, finalLayerNorm::forward);
      h.close();
    }
    if (projectOut != null) {
      NDArray normed = out;
      out = LayerScope.apply(normed, projectOut::forward);
      normed.close();
    }
    mask.close();
    return out;
  }

  /**
   * {@code OPTLearnedPositionalEmbedding}'s positions before the offset: {@code cumsum(mask) * mask - 1}, so padding
   * gets -1 (row 1 after the offset) and left padding shifts no real token. Returns the last {@code newTokens} columns.
   */
  public static NDArray positionsFromMask(NDArray attentionMask, long newTokens) {
    NDArray real = attentionMask.toType(DataType.INT64, false);
    NDArray positions = real.cumSum(1).mul(real).sub(1);
    long total = positions.getShape().get(1);
    return positions.get(":, " + (total - newTokens) + ":");
  }

  /** 0 where a query may attend a key (causal and not padding), the float32 minimum elsewhere (HF's finfo.min). */
  private static NDArray additiveMask(NDManager manager, long batch, long newTokens, long past, NDArray attentionMask) {
    long keys = past + newTokens;
    NDArray keyIndex = manager.arange(0, (int) keys, 1, DataType.INT64).reshape(1, keys);
    NDArray queryIndex = manager.arange((int) past, (int) keys, 1, DataType.INT64).reshape(newTokens, 1);
    NDArray allowed = keyIndex.lte(queryIndex).reshape(1, 1, newTokens, keys)
        .logicalAnd(attentionMask.neq(0).reshape(batch, 1, 1, keys));
    return allowed.logicalNot().toType(DataType.FLOAT32, false).mul(-Float.MAX_VALUE);
  }
}

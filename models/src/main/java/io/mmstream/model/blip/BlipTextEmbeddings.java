package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.tensor.Weights;

/** Word plus absolute position embeddings, then LayerNorm (BERT without token types, as in med.py). */
public final class BlipTextEmbeddings {
  private final NDArray wordEmbeddings;
  private final NDArray positionEmbeddings;
  private final LayerNorm layerNorm;

  public BlipTextEmbeddings(NDArray wordEmbeddings, NDArray positionEmbeddings, LayerNorm layerNorm) {
    this.wordEmbeddings = wordEmbeddings;
    this.positionEmbeddings = positionEmbeddings;
    this.layerNorm = layerNorm;
  }

  /** Loads {@code word_embeddings}, {@code position_embeddings} and {@code LayerNorm} under {@code w}. */
  public static BlipTextEmbeddings load(Weights w, BlipTextConfig config) {
    return new BlipTextEmbeddings(
        w.sub("word_embeddings").get("weight", config.vocabSize(), config.hiddenSize()),
        w.sub("position_embeddings").get("weight", config.maxPositionEmbeddings(), config.hiddenSize()),
        LayerNorm.load(w.sub("LayerNorm"), config.hiddenSize(), config.layerNormEps()));
  }

  /** The word table, which a tied LM head reuses. */
  public NDArray wordEmbeddings() {
    return wordEmbeddings;
  }

  /** {@code ids [B, L]} at positions {@code start .. start+L-1} to {@code [B, L, H]}. */
  public NDArray forward(NDArray ids, long start) {
    long length = ids.getShape().get(1);
    long maxPositions = positionEmbeddings.getShape().get(0);
    if (start + length > maxPositions) {
      throw new IllegalArgumentException(
          "text of " + (start + length) + " tokens exceeds max_position_embeddings " + maxPositions);
    }
    NDArray words = Embedding.embedding(ids, wordEmbeddings, SparseFormat.DENSE).singletonOrThrow();
    NDArray positions = positionEmbeddings.get(ids.getManager(), new NDIndex("{}:{}", start, start + length));
    return layerNorm.forward(words.add(positions));
  }
}

package io.mmstream.model.instructblip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * InstructBLIP's Q-Former ({@code InstructBlipQFormerModel}): learned query tokens and the tokenised
 * instruction share self-attention, so the instruction steers which image features the queries
 * pick up; only the query rows cross-attend to the image.
 *
 * <p>BLIP-2's Q-Former ({@code Blip2QFormerModel}, {@link #loadQueryOnly}) is the same network without the text
 * path: no word/position embeddings, no instruction feed-forward, the embedding LayerNorm at the top level.
 */
public final class InstructBlipQFormer {
  /** LAVIS masks padding with -10000 (BERT's convention); exp of it is 0 in float32, like HF's finfo.min. */
  private static final float MASKED = -10000f;

  private final InstructBlipQFormerConfig config;
  private final NDArray wordEmbeddings;
  private final NDArray positionEmbeddings;
  private final LayerNorm embeddingLayerNorm;
  private final List<QFormerLayer> layers;

  private InstructBlipQFormer(
      InstructBlipQFormerConfig config, NDArray wordEmbeddings, NDArray positionEmbeddings,
      LayerNorm embeddingLayerNorm, List<QFormerLayer> layers) {
    this.config = config;
    this.wordEmbeddings = wordEmbeddings;
    this.positionEmbeddings = positionEmbeddings;
    this.embeddingLayerNorm = embeddingLayerNorm;
    this.layers = layers;
  }

  /** Loads {@code embeddings.*} and {@code encoder.layer.i.*} under {@code w} (usually {@code qformer}). */
  public static InstructBlipQFormer load(Weights w, InstructBlipQFormerConfig c) {
    Weights e = w.sub("embeddings");
    List<QFormerLayer> layers = layers(w, c, true);
    return new InstructBlipQFormer(
        c,
        e.sub("word_embeddings").get("weight", c.vocabSize(), c.hiddenSize()),
        e.sub("position_embeddings").get("weight", c.maxPositionEmbeddings(), c.hiddenSize()),
        LayerNorm.load(e.sub("layernorm"), c.hiddenSize(), c.layerNormEps()),
        layers);
  }

  /** Loads BLIP-2's query-only Q-Former: {@code layernorm.*} and {@code encoder.layer.i.*} under {@code w}. */
  public static InstructBlipQFormer loadQueryOnly(Weights w, InstructBlipQFormerConfig c) {
    return new InstructBlipQFormer(c, null, null, LayerNorm.load(w.sub("layernorm"), c.hiddenSize(), c.layerNormEps()),
        layers(w, c, false));
  }

  private static List<QFormerLayer> layers(Weights w, InstructBlipQFormerConfig c, boolean textInput) {
    List<QFormerLayer> layers = new ArrayList<>();
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      layers.add(QFormerLayer.load(w.sub("encoder").sub("layer").sub(i), c, i, textInput));
    }
    return layers;
  }

  public InstructBlipQFormerConfig config() {
    return config;
  }

  /**
   * {@code LayerNorm([queries; word(ids) + position(0..L-1)])}: the instruction's positions start at 0
   * and the query rows get no position embedding.
   *
   * @param queryTokens {@code [1, Q, H]}
   * @param inputIds instruction ids {@code [B, L]}
   */
  public NDArray embed(NDArray queryTokens, NDArray inputIds) {
    if (wordEmbeddings == null) {
      throw new IllegalStateException("this Q-Former has no text input; use embedQueries");
    }
    long batch = inputIds.getShape().get(0);
    long length = inputIds.getShape().get(1);
    if (length > config.maxPositionEmbeddings()) {
      throw new IllegalArgumentException("instruction of " + length + " tokens exceeds the Q-Former's "
          + config.maxPositionEmbeddings() + " positions");
    }
    NDArray words = Embedding.embedding(inputIds.toType(DataType.INT64, false), wordEmbeddings, SparseFormat.DENSE)
        .singletonOrThrow();
    NDArray text = words.add(positionEmbeddings.get(inputIds.getManager(), new NDIndex("0:" + length)));
    // Taken through the call's manager so the per-call copy is freed with the call, not the weights.
    NDArray queries = queryTokens.get(inputIds.getManager(), new NDIndex("...")).repeat(0, batch);
    return embeddingLayerNorm.forward(queries.concat(text, 1));
  }

  /** {@code LayerNorm(queries)} repeated for {@code batch} images, in {@code manager}: the query-only embedding. */
  public NDArray embedQueries(NDArray queryTokens, long batch, NDManager manager) {
    return embeddingLayerNorm.forward(queryTokens.get(manager, new NDIndex("...")).repeat(0, batch));
  }

  /**
   * The Q-Former's last hidden state {@code [B, Q + L, H]}.
   *
   * @param embedded from {@link #embed}
   * @param textMask {@code [B, L]}, 1 for instruction tokens and 0 for padding; null when there are query rows only
   * @param image image states {@code [B, S, W]}
   * @param queries Q
   */
  public NDArray encode(NDArray embedded, NDArray textMask, NDArray image, long queries) {
    NDArray mask = textMask == null ? null : additiveMask(textMask, queries, embedded.getDataType());
    NDArray h = embedded;
    for (QFormerLayer layer : layers) {
      NDArray input = h;
      h = LayerScope.apply(input, x -> layer.forward(x, mask, image, queries));
      if (input != embedded) {
        input.close();
      }
    }
    if (mask != null) {
      mask.close();
    }
    return h;
  }

  /** {@code (1 - [ones(Q); textMask]) * -10000} as {@code [B, 1, 1, Q + L]}. */
  private static NDArray additiveMask(NDArray textMask, long queries, DataType type) {
    long batch = textMask.getShape().get(0);
    NDArray text = textMask.toType(DataType.FLOAT32, false);
    NDArray rows = text.getManager().ones(new Shape(batch, queries), DataType.FLOAT32).concat(text, 1);
    return rows.neg().add(1).mul(MASKED).reshape(batch, 1, 1, -1).toType(type, false);
  }
}

package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP's text tower (HF {@code text_model}): token and position embeddings, the encoder under a
 * causal mask, {@code final_layer_norm}, and pooling at the end-of-text token.
 *
 * <p>As in openai's code, only the causal mask applies (no padding mask): positions up to the
 * end-of-text token never see the padding after it, so pooled outputs do not depend on padding.
 */
public final class ClipTextTransformer {

  /**
   * What the tower computed: the hidden states (index 0 = token + position embeddings, index i the
   * output of layer i; empty unless asked for), {@code final_layer_norm} of every position, and the
   * pooled end-of-text rows before projection.
   */
  public record Output(List<NDArray> hiddenStates, NDArray lastHiddenState, NDArray pooled) {}

  private final ClipTextConfig config;
  private final NDArray tokenEmbedding;
  private final NDArray positionEmbedding;
  private final ClipEncoder encoder;
  private final LayerNorm finalLayerNorm;

  private ClipTextTransformer(
      ClipTextConfig config,
      NDArray tokenEmbedding,
      NDArray positionEmbedding,
      ClipEncoder encoder,
      LayerNorm finalLayerNorm) {
    this.config = config;
    this.tokenEmbedding = tokenEmbedding;
    this.positionEmbedding = positionEmbedding;
    this.encoder = encoder;
    this.finalLayerNorm = finalLayerNorm;
  }

  /** Loads the tower from {@code w} = the {@code text_model} view. */
  static ClipTextTransformer load(Weights w, ClipTextConfig c) {
    int d = c.hiddenSize();
    Weights embeddings = w.sub("embeddings");
    NDArray tokens = embeddings.sub("token_embedding").get("weight", c.vocabSize(), d);
    NDArray positions = embeddings.sub("position_embedding").get("weight", c.maxPositionEmbeddings(), d);
    embeddings.find("position_ids", 1, c.maxPositionEmbeddings()).ifPresent(NDArray::close);
    return new ClipTextTransformer(
        c,
        tokens,
        positions,
        ClipEncoder.load(
            w.sub("encoder"), c.numHiddenLayers(), d, c.intermediateSize(), c.numAttentionHeads(),
            c.hiddenAct(), c.layerNormEps()),
        LayerNorm.load(w.sub("final_layer_norm"), d, c.layerNormEps()));
  }

  public ClipTextConfig config() {
    return config;
  }

  /** The pooled rows [B, D] for {@code inputIds} [B, T] (INT64), pooled at {@code eotIndices}. */
  public NDArray forward(NDArray inputIds, int[] eotIndices) {
    return forward(inputIds, eotIndices, false).pooled();
  }

  /** The full output; hidden states are kept only when {@code keepHiddenStates}. */
  public Output forward(NDArray inputIds, int[] eotIndices, boolean keepHiddenStates) {
    Shape shape = inputIds.getShape();
    if (shape.dimension() != 2 || shape.get(1) > config.maxPositionEmbeddings() || shape.get(0) != eotIndices.length) {
      throw new IllegalArgumentException(
          "input_ids must be [B, T<=" + config.maxPositionEmbeddings() + "] with one end-of-text index per row, got "
              + shape + " and " + eotIndices.length + " indices");
    }
    int tokens = (int) shape.get(1);
    NDManager manager = inputIds.getManager();
    NDArray tokenRows = Embedding.embedding(inputIds, tokenEmbedding, SparseFormat.DENSE).singletonOrThrow();
    NDArray h;
    // The slice is a view created in the weights' manager: closed at once so nothing accumulates there.
    try (NDArray positions = positionEmbedding.get("0:{}", tokens)) {
      h = tokenRows.addi(positions);
    }
    List<NDArray> hiddenStates = null;
    if (keepHiddenStates) {
      hiddenStates = new ArrayList<>();
      hiddenStates.add(h);
    }
    NDArray last = finalLayerNorm.forward(encoder.forward(h, causalMask(manager, tokens), hiddenStates));
    NDList pooledRows = new NDList(eotIndices.length);
    for (int b = 0; b < eotIndices.length; b++) {
      if (eotIndices[b] < 0 || eotIndices[b] >= tokens) {
        throw new IllegalArgumentException("end-of-text index " + eotIndices[b] + " outside the " + tokens + " tokens");
      }
      pooledRows.add(last.get(b, eotIndices[b]));
    }
    NDArray pooled = NDArrays.stack(pooledRows);
    return new Output(hiddenStates == null ? List.of() : hiddenStates, last, pooled);
  }

  /** [T, T] with -inf above the diagonal: position i attends to positions 0..i only. */
  private NDArray causalMask(NDManager manager, int tokens) {
    NDArray positions = manager.arange(tokens);
    NDArray future = positions.reshape(1, tokens).gt(positions.reshape(tokens, 1));
    DataType type = positionEmbedding.getDataType();
    return NDArrays.where(
        future,
        manager.full(new Shape(tokens, tokens), Float.NEGATIVE_INFINITY, type),
        manager.zeros(new Shape(tokens, tokens), type));
  }
}

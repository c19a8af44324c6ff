package io.mmstream.model.qwenvl;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.LayerNorm;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.nn.Scalars;
import io.mmstream.model.tensor.Weights;

/**
 * visual.py's {@code Resampler} ({@code attn_pool}): one cross-attention from the learned queries to the ViT tokens,
 * through torch's {@code nn.MultiheadAttention} ({@code [Wq; Wk; Wv]} blocks, contiguous head slices). The queries
 * carry the fixed 2D sin-cos table {@code pos_embed}, the keys the same table resized to the patch grid, the values
 * none. The keys and values come through its own {@code kv_proj} (absent when the ViT width is the output width).
 */
final class QwenResampler {
  private final NDArray query;
  private final NDArray positions;
  private final Linear kvProjection;
  private final LayerNorm queryNorm;
  private final LayerNorm kvNorm;
  private final Linear queryIn;
  private final Linear keyIn;
  private final Linear valueIn;
  private final Linear outProjection;
  private final int heads;
  private final int headDim;

  private QwenResampler(NDArray query, NDArray positions, Linear kvProjection, LayerNorm queryNorm, LayerNorm kvNorm,
      Linear queryIn, Linear keyIn, Linear valueIn, Linear outProjection, int heads, int dim) {
    this.query = query;
    this.positions = positions;
    this.kvProjection = kvProjection;
    this.queryNorm = queryNorm;
    this.kvNorm = kvNorm;
    this.queryIn = queryIn;
    this.keyIn = keyIn;
    this.valueIn = valueIn;
    this.outProjection = outProjection;
    this.heads = heads;
    this.headDim = dim / heads;
  }

  static QwenResampler load(Weights w, QwenVisualConfig c) {
    long d = c.outputDim();
    long n = c.queries();
    Linear kv = c.width() == c.outputDim() ? null : Linear.load(w.sub("kv_proj"), c.width(), d, false);
    Weights attn = w.sub("attn");
    NDArray inWeight = attn.get("in_proj_weight", 3 * d, d);
    NDArray inBias = attn.get("in_proj_bias", 3 * d);
    return new QwenResampler(
        w.get("query", n, d),
        w.get("pos_embed", n, d),
        kv,
        LayerNorm.load(w.sub("ln_q"), d, QwenVisualConfig.LAYER_NORM_EPS),
        LayerNorm.load(w.sub("ln_kv"), d, QwenVisualConfig.LAYER_NORM_EPS),
        new Linear(inWeight.get(":" + d), inBias.get(":" + d)),
        new Linear(inWeight.get(d + ":" + 2 * d), inBias.get(d + ":" + 2 * d)),
        new Linear(inWeight.get(2 * d + ":"), inBias.get(2 * d + ":")),
        Linear.load(attn.sub("out_proj"), d, d, true),
        c.resamplerHeads(),
        c.outputDim());
  }

  /** The key positions: {@code pos_embed} resized to a grid of {@code tokens}. */
  NDArray keyPositions(long tokens) {
    return PositionTables.resize(positions, tokens);
  }

  /** {@code x} [B, L, width] to [B, queries, output_dim]. */
  NDArray forward(NDArray x) {
    long b = x.getShape().get(0);
    long l = x.getShape().get(1);
    NDArray kv = kvNorm.forward(kvProjection == null ? x : kvProjection.forward(x));
    NDArray q = queryNorm.forward(query).add(positions).expandDims(0);
    NDArray k = kv.add(keyPositions(l));
    long n = query.getShape().get(0);
    NDArray qh = Scalars.divide(heads(queryIn.forward(q), 1, n), (float) Math.sqrt(headDim));
    NDArray kh = heads(keyIn.forward(k), b, l);
    NDArray vh = heads(valueIn.forward(kv), b, l);
    NDArray context = qh.matMul(kh.transpose(0, 1, 3, 2)).softmax(-1).matMul(vh);
    return outProjection.forward(context.transpose(0, 2, 1, 3).reshape(b, n, (long) heads * headDim));
  }

  private NDArray heads(NDArray projected, long b, long t) {
    return projected.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
  }
}

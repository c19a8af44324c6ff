package io.mmstream.model.qwen;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.llama.RmsNorm;
import io.mmstream.model.llama.RotaryEmbedding;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code QWenModel} without its visual tower: {@code wte}, the blocks {@code h}, {@code ln_f}. Positions are
 * {@code 0..L-1} over the whole sequence (the original ignores position ids). Past {@code seq_length} two options of
 * the original act: dynamic NTK raises the rotary base by {@code alpha^(d/(d-2))}, with alpha fixed at prefill from the
 * prompt length ({@link #ntkAlpha}) and kept for the cached steps, and logn attention scales the query at position
 * {@code p} by {@code log(p+1)/log(seq_length)}.
 */
public final class QwenModel {
  private final QwenConfig config;
  private final NDArray tokenEmbeddings;
  private final List<QwenBlock> blocks;
  private final RmsNorm finalNorm;
  private final NDManager manager;
  private final Map<Integer, RotaryEmbedding> rotaryByAlpha = new HashMap<>();

  private QwenModel(QwenConfig config, NDArray tokenEmbeddings, List<QwenBlock> blocks, RmsNorm finalNorm,
      NDManager manager) {
    this.config = config;
    this.tokenEmbeddings = tokenEmbeddings;
    this.blocks = blocks;
    this.finalNorm = finalNorm;
    this.manager = manager;
  }

  /** Loads {@code wte}, {@code h.*} and {@code ln_f} under {@code w} (the checkpoint's {@code transformer}). */
  public static QwenModel load(Weights w, QwenConfig c) {
    NDArray embeddings = w.sub("wte").get("weight", c.vocabSize(), c.hiddenSize());
    List<QwenBlock> blocks = new ArrayList<>();
    for (int i = 0; i < c.numHiddenLayers(); i++) {
      blocks.add(QwenBlock.load(w.sub("h").sub(i), c));
    }
    RmsNorm norm = RmsNorm.load(w.sub("ln_f"), c.hiddenSize(), c.layerNormEpsilon());
    return new QwenModel(c, embeddings, blocks, norm, w.manager());
  }

  public QwenConfig config() {
    return config;
  }

  /** {@code wte} rows of integer ids of any shape S: S x D. */
  public NDArray embed(NDArray ids) {
    return Embedding.embedding(ids.toType(DataType.INT64, false), tokenEmbeddings, SparseFormat.DENSE)
        .singletonOrThrow();
  }

  /**
   * The dynamic-NTK alpha for a prefill of {@code length} positions: {@code max(2^ceil(log2(L/seq_length)+1) - 1, 1)}
   * (1 up to seq_length, 3 up to twice it, 7 up to four times); 1 when the option is off.
   */
  public int ntkAlpha(long length) {
    if (!config.useDynamicNtk()) {
      return 1;
    }
    double context = Math.log((double) length / config.seqLength()) / Math.log(2) + 1;
    return Math.max((int) Math.pow(2, Math.ceil(context)) - 1, 1);
  }

  /**
   * The final-normed hidden states [B, T, D] of T new positions.
   *
   * @param inputsEmbeds [B, T, D]
   * @param cache extended with the new positions (its length is the past)
   * @param ntkAlpha {@link #ntkAlpha} of the prefill, kept for every later step
   */
  public NDArray forward(NDArray inputsEmbeds, LlamaKvCache cache, int ntkAlpha) {
    NDManager m = inputsEmbeds.getManager();
    long batch = inputsEmbeds.getShape().get(0);
    long past = cache.length();
    long t = inputsEmbeds.getShape().get(1);
    RotaryEmbedding rotary = rotary(ntkAlpha);
    NDArray positions = m.arange(past, past + t, 1, DataType.INT64).reshape(1, t).repeat(0, batch);
    NDList tables = rotary.tables(positions, DataType.FLOAT32);
    NDArray logn = lognFactors(m, past, t);
    NDArray mask = t == 1 ? null : causalMask(m, past, t);
    NDArray h = inputsEmbeds;
    for (int i = 0; i < blocks.size(); i++) {
      QwenBlock block = blocks.get(i);
      int index = i;
      NDArray input = h;
      h = LayerScope.apply(input, x -> block.forward(x, rotary, tables, logn, mask, cache, index));
      if (input != inputsEmbeds) {
        input.close();
      }
    }
    NDArray out = LayerScope.apply(h, finalNorm::forward);
    if (h != inputsEmbeds) {
      h.close();
    }
    return out;
  }

  private RotaryEmbedding rotary(int ntkAlpha) {
    return rotaryByAlpha.computeIfAbsent(ntkAlpha, alpha -> {
      int dim = config.rotaryDim();
      double base = config.rotaryEmbBase() * Math.pow(alpha, (double) dim / (dim - 2));
      return new RotaryEmbedding(manager, dim, base, true);
    });
  }

  /** The original's {@code logn_tensor} rows for positions past..past+t-1 (built from doubles, stored as float32). */
  private NDArray lognFactors(NDManager m, long past, long t) {
    if (!config.useLognAttn() || past + t <= config.seqLength()) {
      return null;
    }
    float[] factors = new float[(int) t];
    for (int i = 0; i < t; i++) {
      long n = past + i + 1;
      factors[i] = n > config.seqLength() ? (float) (Math.log(n) / Math.log(config.seqLength())) : 1f;
    }
    return m.create(factors, new Shape(1, 1, t, 1));
  }

  /** 0 where a new query may see a key, the float32 minimum where it may not. */
  private static NDArray causalMask(NDManager m, long past, long t) {
    long keys = past + t;
    NDArray keyIndex = m.arange(0, keys, 1, DataType.INT64).reshape(1, keys);
    NDArray queryIndex = m.arange(past, keys, 1, DataType.INT64).reshape(t, 1);
    return keyIndex.gt(queryIndex).toType(DataType.FLOAT32, false).mul(-Float.MAX_VALUE).reshape(1, 1, t, keys);
  }
}

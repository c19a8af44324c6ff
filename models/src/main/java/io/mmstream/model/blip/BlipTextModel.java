package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * med.py's {@code BertModel} without pooler: the question encoder (bidirectional, padding mask) and,
 * under {@code text_decoder.bert}, the decoder (causal, with a {@link BlipTextDecoderCache}). Both
 * cross-attend to encoder states in every layer.
 */
public final class BlipTextModel {
  /** med.py's {@code get_extended_attention_mask}: masked self-attention scores get this added. */
  static final float SELF_MASK_VALUE = -10000f;
  /** transformers 4.15's {@code invert_attention_mask} for float32, which the original uses for cross-attention. */
  static final float CROSS_MASK_VALUE = -1e9f;

  private final BlipTextEmbeddings embeddings;
  private final List<BlipTextLayer> layers;

  public BlipTextModel(BlipTextEmbeddings embeddings, List<BlipTextLayer> layers) {
    this.embeddings = embeddings;
    this.layers = List.copyOf(layers);
  }

  /**
   * Loads {@code embeddings} and {@code encoder.layer.i} under {@code w}; {@code crossWidth} is the
   * width of the states the cross-attention reads.
   */
  public static BlipTextModel load(Weights w, BlipTextConfig config, int crossWidth) {
    List<BlipTextLayer> layers = new ArrayList<>();
    for (int i = 0; i < config.numHiddenLayers(); i++) {
      layers.add(BlipTextLayer.load(w.sub("encoder").sub("layer").sub(i), config, crossWidth));
    }
    return new BlipTextModel(BlipTextEmbeddings.load(w.sub("embeddings"), config), layers);
  }

  public BlipTextEmbeddings embeddings() {
    return embeddings;
  }

  /**
   * Bidirectional pass (the VQA question encoder).
   *
   * @param ids {@code [B, L]}
   * @param attentionMask {@code [B, L]}, 1 for tokens and 0 for padding, or null for no padding
   * @param encoderStates {@code [B, S, W]}, cross-attended in full
   * @return last hidden states {@code [B, L, H]}
   */
  public NDArray encode(NDArray ids, NDArray attentionMask, NDArray encoderStates) {
    NDManager call = ids.getManager();
    NDArray selfMask = attentionMask == null ? null : paddingMask(attentionMask, SELF_MASK_VALUE, call);
    List<AttentionKeyValues> cross = crossKeyValues(encoderStates, call);
    return run(ids, 0, selfMask, null, cross, null, null);
  }

  /**
   * Causal pass over all of {@code ids} without a cache (teacher forcing, rank scoring, and the
   * reference that cached generation must equal).
   *
   * @param attentionMask {@code [B, L]} padding mask or null
   * @param encoderAttentionMask {@code [B, S]} or null for all ones
   */
  public NDArray decode(NDArray ids, NDArray attentionMask, NDArray encoderStates, NDArray encoderAttentionMask) {
    NDManager call = ids.getManager();
    long length = ids.getShape().get(1);
    NDArray selfMask = causalMask(call, 0, length, attentionMask);
    NDArray crossMask =
        encoderAttentionMask == null ? null : paddingMask(encoderAttentionMask, CROSS_MASK_VALUE, call);
    return run(ids, 0, selfMask, null, crossKeyValues(encoderStates, call), crossMask, null);
  }

  /**
   * A cache holding the cross-attention keys/values of {@code encoderStates}; it gets its own
   * sub-manager of {@code manager}.
   */
  public BlipTextDecoderCache newCache(NDManager manager, NDArray encoderStates, NDArray encoderAttentionMask) {
    NDManager own = manager.newSubManager();
    List<AttentionKeyValues> cross = crossKeyValues(encoderStates, own);
    NDArray crossMask = null;
    if (encoderAttentionMask != null) {
      crossMask = paddingMask(encoderAttentionMask, CROSS_MASK_VALUE, own);
    }
    return new BlipTextDecoderCache(own, cross, crossMask);
  }

  /** Causal pass over {@code ids} {@code [B, L]} that follow the cached positions; updates the cache. */
  public NDArray decode(NDArray ids, BlipTextDecoderCache cache) {
    NDManager call = ids.getManager();
    long length = ids.getShape().get(1);
    // One new position attends to everything before it: no mask needed.
    NDArray selfMask = length == 1 ? null : causalMask(call, cache.length(), length, null);
    List<AttentionKeyValues> newSelf = new ArrayList<>(layers.size());
    NDArray hidden = run(ids, cache.length(), selfMask, cache.self(), cache.cross(), cache.crossMask(), newSelf);
    cache.update(newSelf, length);
    return hidden;
  }

  private List<AttentionKeyValues> crossKeyValues(NDArray encoderStates, NDManager target) {
    List<AttentionKeyValues> cross = new ArrayList<>(layers.size());
    try (NDManager scope = target.newSubManager()) {
      encoderStates.tempAttach(scope);
      for (BlipTextLayer layer : layers) {
        AttentionKeyValues kv = layer.crossKeyValues(encoderStates);
        kv.attach(target);
        cross.add(kv);
      }
    }
    return cross;
  }

  private NDArray run(
      NDArray ids,
      long start,
      NDArray selfMask,
      List<AttentionKeyValues> past,
      List<AttentionKeyValues> cross,
      NDArray crossMask,
      List<AttentionKeyValues> newSelf) {
    NDManager call = ids.getManager();
    NDArray x = embeddings.forward(ids, start);
    for (int i = 0; i < layers.size(); i++) {
      NDArray input = x;
      try (NDManager scope = call.newSubManager()) {
        input.tempAttach(scope);
        BlipTextLayer.Output out =
            layers.get(i).forward(input, selfMask, past == null ? null : past.get(i), cross.get(i), crossMask);
        out.hidden().attach(call);
        if (newSelf != null) {
          out.selfKeyValues().attach(call);
          newSelf.add(out.selfKeyValues());
        }
        x = out.hidden();
      }
      input.close();
    }
    return x;
  }

  /** {@code (1 - mask) * value} shaped {@code [B, 1, 1, S]}, created in {@code target}. */
  static NDArray paddingMask(NDArray mask, float value, NDManager target) {
    long batch = mask.getShape().get(0);
    long length = mask.getShape().get(1);
    return asFloat(mask, target).neg().add(1f).mul(value).reshape(batch, 1, 1, length);
  }

  /** A float copy of a 0/1 mask owned by {@code target}, whichever manager holds the mask. */
  private static NDArray asFloat(NDArray mask, NDManager target) {
    try (NDManager scope = target.newSubManager()) {
      mask.tempAttach(scope);
      NDArray out = mask.toType(DataType.FLOAT32, true);
      out.attach(target);
      return out;
    }
  }

  /**
   * med.py's decoder mask: query {@code start+i} may see key {@code j <= start+i} that is not
   * padding; additive, {@code [B or 1, 1, L, start+L]}.
   */
  static NDArray causalMask(NDManager manager, long start, long length, NDArray paddingMask) {
    long keys = start + length;
    NDArray keyPositions = manager.arange(0f, (float) keys).reshape(1, keys);
    NDArray queryPositions = manager.arange((float) start, (float) keys).reshape(length, 1);
    NDArray allowed = keyPositions.lte(queryPositions).toType(DataType.FLOAT32, false).reshape(1, 1, length, keys);
    if (paddingMask != null) {
      long batch = paddingMask.getShape().get(0);
      allowed = allowed.mul(asFloat(paddingMask, manager).reshape(batch, 1, 1, keys));
    }
    return allowed.neg().add(1f).mul(SELF_MASK_VALUE);
  }
}

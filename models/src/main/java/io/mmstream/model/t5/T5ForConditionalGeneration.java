package io.mmstream.model.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.llama.RmsNorm;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/**
 * HF {@code T5ForConditionalGeneration}: {@code shared} token embeddings (no scaling), the encoder stack with
 * bidirectional relative position buckets, the decoder stack with causal buckets and cross-attention, and the LM
 * head (untied in v1.1/Flan; tied heads scale the decoder output by {@code d_model^-0.5}).
 */
public final class T5ForConditionalGeneration {
  private final T5Config config;
  private final NDArray shared;
  private final List<T5Block> encoder;
  private final RmsNorm encoderFinalNorm;
  private final List<T5Block> decoder;
  private final RmsNorm decoderFinalNorm;
  private final Linear lmHead;

  private T5ForConditionalGeneration(T5Config config, NDArray shared, List<T5Block> encoder, RmsNorm encoderFinalNorm,
      List<T5Block> decoder, RmsNorm decoderFinalNorm, Linear lmHead) {
    this.config = config;
    this.shared = shared;
    this.encoder = encoder;
    this.encoderFinalNorm = encoderFinalNorm;
    this.decoder = decoder;
    this.decoderFinalNorm = decoderFinalNorm;
    this.lmHead = lmHead;
  }

  /**
   * Loads {@code shared}, {@code encoder.*}, {@code decoder.*} and {@code lm_head} under {@code w}; the stacks'
   * {@code embed_tokens} aliases of {@code shared}, where a checkpoint stores them, are the same matrix.
   */
  public static T5ForConditionalGeneration load(Weights w, T5Config c) {
    NDArray shared = w.sub("shared").get("weight", c.vocabSize(), c.dModel());
    w.sub("encoder").sub("embed_tokens").find("weight", c.vocabSize(), c.dModel());
    w.sub("decoder").sub("embed_tokens").find("weight", c.vocabSize(), c.dModel());
    List<T5Block> encoder = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      encoder.add(T5Block.load(w.sub("encoder").sub("block").sub(i), c, false, i == 0));
    }
    List<T5Block> decoder = new ArrayList<>();
    for (int i = 0; i < c.numDecoderLayers(); i++) {
      decoder.add(T5Block.load(w.sub("decoder").sub("block").sub(i), c, true, i == 0));
    }
    Linear head = c.tieWordEmbeddings()
        ? new Linear(w.sub("lm_head").find("weight", c.vocabSize(), c.dModel()).orElse(shared), null)
        : Linear.load(w.sub("lm_head"), c.dModel(), c.vocabSize(), false);
    return new T5ForConditionalGeneration(c, shared, encoder,
        RmsNorm.load(w.sub("encoder").sub("final_layer_norm"), c.dModel(), c.layerNormEpsilon()), decoder,
        RmsNorm.load(w.sub("decoder").sub("final_layer_norm"), c.dModel(), c.layerNormEpsilon()), head);
  }

  public T5Config config() {
    return config;
  }

  /** {@code shared} embeddings of ids of any shape. */
  public NDArray embed(NDArray ids) {
    return Embedding.embedding(ids.toType(DataType.INT64, false), shared, SparseFormat.DENSE).singletonOrThrow();
  }

  /** The encoder's position bias {@code [1, heads, S, S]} (bidirectional buckets, before the mask). */
  public NDArray encoderPositionBias(NDManager manager, int length) {
    return encoder.get(0).selfAttention().positionBias(manager, length, length, 0, true, config);
  }

  /** The decoder's position bias {@code [1, heads, T, past + T]} for T positions after {@code past} (causal buckets). */
  public NDArray decoderPositionBias(NDManager manager, int newTokens, int past) {
    return decoder.get(0).selfAttention().positionBias(manager, newTokens, past + newTokens, past, false, config);
  }

  /**
   * The encoder's last hidden state {@code [B, S, d_model]}.
   *
   * @param attentionMask {@code [B, S]}, 1 for real positions, 0 for padding
   */
  public NDArray encode(NDArray inputsEmbeds, NDArray attentionMask) {
    NDManager manager = inputsEmbeds.getManager();
    int length = (int) inputsEmbeds.getShape().get(1);
    NDArray biasAndMask = encoderPositionBias(manager, length).add(paddingMask(attentionMask));
    NDArray h = inputsEmbeds;
    for (T5Block block : encoder) {
      NDArray input = h;
      h = LayerScope.apply(input, x -> block.encode(x, biasAndMask));
      if (input != inputsEmbeds) {
        input.close();
      }
    }
    NDArray out = LayerScope.apply(h, encoderFinalNorm::forward);
    if (h != inputsEmbeds) {
      h.close();
    }
    biasAndMask.close();
    return out;
  }

  /** A decoder state over an encoder output: KV cache for self-attention, cross-attention keys/values once. */
  public T5DecoderState newDecoderState(NDArray encoderOutput, NDArray encoderMask) {
    NDManager manager = encoderOutput.getManager().newSubManager();
    List<NDArray> keys = new ArrayList<>();
    List<NDArray> values = new ArrayList<>();
    for (T5Block block : decoder) {
      NDArray k = block.crossAttention().keys(encoderOutput);
      NDArray v = block.crossAttention().values(encoderOutput);
      k.attach(manager);
      v.attach(manager);
      keys.add(k);
      values.add(v);
    }
    NDArray mask = paddingMask(encoderMask);
    mask.attach(manager);
    return new T5DecoderState(manager, new LlamaKvCache(manager, decoder.size()), keys, values, mask);
  }

  /**
   * The decoder's final hidden states {@code [B, T, d_model]} of T new tokens, extending {@code state}'s cache; with
   * a tied head they are already scaled by {@code d_model^-0.5}.
   */
  public NDArray decode(NDArray decoderIds, T5DecoderState state) {
    NDArray embeds = embed(decoderIds);
    int newTokens = (int) embeds.getShape().get(1);
    int past = (int) state.cache().length();
    NDManager manager = embeds.getManager();
    NDArray selfBias = decoderPositionBias(manager, newTokens, past).add(causalMask(manager, newTokens, past));
    NDArray h = embeds;
    for (int i = 0; i < decoder.size(); i++) {
      T5Block block = decoder.get(i);
      int layer = i;
      NDArray input = h;
      h = LayerScope.apply(input, x -> block.decode(x, selfBias, state.cache(), layer, state.crossKeys().get(layer),
          state.crossValues().get(layer), state.crossMask()));
      input.close();
    }
    NDArray out = LayerScope.apply(h, decoderFinalNorm::forward);
    h.close();
    selfBias.close();
    return config.tieWordEmbeddings() ? out.mul((float) Math.pow(config.dModel(), -0.5)) : out;
  }

  /** Vocabulary logits of decoder hidden states. */
  public NDArray logits(NDArray hidden) {
    return lmHead.forward(hidden);
  }

  /** {@code (1 - m) * float32 min} as {@code [B, 1, 1, S]}. */
  private static NDArray paddingMask(NDArray attentionMask) {
    long batch = attentionMask.getShape().get(0);
    return attentionMask.toType(DataType.FLOAT32, false).neg().add(1f).mul(-Float.MAX_VALUE)
        .reshape(batch, 1, 1, -1);
  }

  /** 0 where a new position may attend a key (not later than itself), the float32 minimum elsewhere. */
  private static NDArray causalMask(NDManager manager, int newTokens, int past) {
    int keys = past + newTokens;
    NDArray keyIndex = manager.arange(0, keys, 1, DataType.INT32).reshape(1, keys);
    NDArray queryIndex = manager.arange(past, keys, 1, DataType.INT32).reshape(newTokens, 1);
    return keyIndex.gt(queryIndex).toType(DataType.FLOAT32, false).mul(-Float.MAX_VALUE).reshape(1, 1, newTokens, keys);
  }
}

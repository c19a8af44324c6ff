package io.mmstream.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** {@link LlamaModel} plus the LM head (its own {@code lm_head.weight}, or the tied token embeddings). */
public final class LlamaForCausalLM {
  private final LlamaModel model;
  private final Linear lmHead;

  private LlamaForCausalLM(LlamaModel model, Linear lmHead) {
    this.model = model;
    this.lmHead = lmHead;
  }

  /** Loads {@code model.*} and {@code lm_head.*} under {@code w} (e.g. {@code language_model}). */
  public static LlamaForCausalLM load(Weights w, LlamaConfig c) {
    LlamaModel model = LlamaModel.load(w.sub("model"), c);
    Linear head =
        c.tieWordEmbeddings()
            ? new Linear(w.sub("lm_head").find("weight", c.vocabSize(), c.hiddenSize()).orElse(model.tokenEmbeddings()),
                null)
            : Linear.load(w.sub("lm_head"), c.hiddenSize(), c.vocabSize(), false);
    return new LlamaForCausalLM(model, head);
  }

  public LlamaConfig config() {
    return model.config();
  }

  public LlamaModel model() {
    return model;
  }

  public NDArray embed(NDArray ids) {
    return model.embed(ids);
  }

  /** Final-normed hidden states [B, T, D]; see {@link LlamaModel#forward}. */
  public NDArray hiddenStates(NDArray inputsEmbeds, NDArray attentionMask, NDArray positions, LlamaKvCache cache) {
    return model.forward(inputsEmbeds, attentionMask, positions, cache);
  }

  /** Vocabulary logits of hidden states [..., D]. */
  public NDArray logits(NDArray hidden) {
    return lmHead.forward(hidden);
  }

  /** Logits [B, T, V] of every new position. */
  public NDArray forward(NDArray inputsEmbeds, NDArray attentionMask, NDArray positions, LlamaKvCache cache) {
    return logits(hiddenStates(inputsEmbeds, attentionMask, positions, cache));
  }

  /** An empty KV cache whose arrays live under {@code manager}. */
  public LlamaKvCache newCache(NDManager manager) {
    return new LlamaKvCache(manager, model.config().numHiddenLayers());
  }
}

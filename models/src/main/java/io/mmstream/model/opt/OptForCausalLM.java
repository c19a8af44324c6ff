package io.mmstream.model.opt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** {@link OptDecoder} plus the LM head, tied to the token embeddings (a stored {@code lm_head.weight} is the same matrix). */
public final class OptForCausalLM {
  private final OptDecoder decoder;
  private final Linear lmHead;

  private OptForCausalLM(OptDecoder decoder, Linear lmHead) {
    this.decoder = decoder;
    this.lmHead = lmHead;
  }

  /** Loads {@code model.decoder.*} and {@code lm_head.*} under {@code w} (e.g. {@code language_model}). */
  public static OptForCausalLM load(Weights w, OptConfig c) {
    OptDecoder decoder = OptDecoder.load(w.sub("model").sub("decoder"), c);
    NDArray head = w.sub("lm_head").find("weight", c.vocabSize(), c.wordEmbedProjDim())
        .orElse(decoder.tokenEmbeddings());
    return new OptForCausalLM(decoder, new Linear(head, null));
  }

  public OptConfig config() {
    return decoder.config();
  }

  public OptDecoder decoder() {
    return decoder;
  }

  public NDArray embed(NDArray ids) {
    return decoder.embed(ids);
  }

  /** Final hidden states {@code [B, T, word_embed_proj_dim]}; see {@link OptDecoder#forward}. */
  public NDArray hiddenStates(NDArray inputsEmbeds, NDArray attentionMask, LlamaKvCache cache) {
    return decoder.forward(inputsEmbeds, attentionMask, cache);
  }

  /** Vocabulary logits of hidden states {@code [..., word_embed_proj_dim]}. */
  public NDArray logits(NDArray hidden) {
    return lmHead.forward(hidden);
  }

  /** An empty KV cache whose arrays live under {@code manager}. */
  public LlamaKvCache newCache(NDManager manager) {
    return new LlamaKvCache(manager, decoder.config().numHiddenLayers());
  }
}

package io.mmstream.model.qwen;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** The Qwen language model with its untied {@code lm_head}: {@code transformer.{wte,h,ln_f}} and {@code lm_head}. */
public final class QwenLMHeadModel {
  private final QwenModel transformer;
  private final Linear lmHead;

  private QwenLMHeadModel(QwenModel transformer, Linear lmHead) {
    this.transformer = transformer;
    this.lmHead = lmHead;
  }

  /** Loads {@code transformer.*} (without {@code transformer.visual}) and {@code lm_head} under {@code w}. */
  public static QwenLMHeadModel load(Weights w, QwenConfig c) {
    return new QwenLMHeadModel(
        QwenModel.load(w.sub("transformer"), c), Linear.load(w.sub("lm_head"), c.hiddenSize(), c.vocabSize(), false));
  }

  public QwenModel transformer() {
    return transformer;
  }

  public QwenConfig config() {
    return transformer.config();
  }

  public NDArray logits(NDArray hidden) {
    return lmHead.forward(hidden);
  }

  public LlamaKvCache newCache(NDManager manager) {
    return new LlamaKvCache(manager, transformer.config().numHiddenLayers());
  }
}

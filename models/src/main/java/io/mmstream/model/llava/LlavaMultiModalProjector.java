package io.mmstream.model.llava;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** LLaVA-1.5's {@code mlp2x_gelu}: {@code linear_2(act(linear_1(x)))} from vision width to the LM's width. */
public final class LlavaMultiModalProjector {
  private final Linear linear1;
  private final Linear linear2;
  private final LlavaConfig config;

  private LlavaMultiModalProjector(Linear linear1, Linear linear2, LlavaConfig config) {
    this.linear1 = linear1;
    this.linear2 = linear2;
    this.config = config;
  }

  /** Loads {@code linear_1} and {@code linear_2} under {@code w} = the {@code multi_modal_projector} view. */
  public static LlavaMultiModalProjector load(Weights w, LlavaConfig c) {
    long in = c.vision().hiddenSize();
    long out = c.text().hiddenSize();
    return new LlavaMultiModalProjector(
        Linear.load(w.sub("linear_1"), in, out, c.projectorBias()),
        Linear.load(w.sub("linear_2"), out, out, c.projectorBias()),
        c);
  }

  /** The first linear's output, before the activation. */
  public NDArray firstLinear(NDArray features) {
    return linear1.forward(features);
  }

  public NDArray forward(NDArray features) {
    return linear2.forward(config.projectorAct().apply(linear1.forward(features)));
  }
}

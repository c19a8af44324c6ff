package io.mmstream.model.t5;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/** T5's {@code DenseReluDense}: {@code wo(act(wi_0 x) * wi_1 x)} when gated (v1.1, Flan), else {@code wo(act(wi x))}. */
final class T5FeedForward {
  private final Linear wi;
  private final Linear wi1;
  private final Linear wo;
  private final Activation activation;

  private T5FeedForward(Linear wi, Linear wi1, Linear wo, Activation activation) {
    this.wi = wi;
    this.wi1 = wi1;
    this.wo = wo;
    this.activation = activation;
  }

  static T5FeedForward load(Weights w, T5Config c) {
    int d = c.dModel();
    int f = c.dFf();
    if (c.gatedFeedForward()) {
      return new T5FeedForward(Linear.load(w.sub("wi_0"), d, f, false), Linear.load(w.sub("wi_1"), d, f, false),
          Linear.load(w.sub("wo"), f, d, false), c.activation());
    }
    return new T5FeedForward(Linear.load(w.sub("wi"), d, f, false), null, Linear.load(w.sub("wo"), f, d, false),
        c.activation());
  }

  NDArray forward(NDArray x) {
    NDArray hidden = activation.apply(wi.forward(x));
    if (wi1 != null) {
      hidden = hidden.mul(wi1.forward(x));
    }
    return wo.forward(hidden);
  }
}

package io.mmstream.model.clip;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.nn.Activation;
import io.mmstream.model.tensor.Weights;
import java.util.ArrayList;
import java.util.List;

/** The stack of {@link ClipEncoderLayer}s under {@code encoder.layers.i}, shared by both towers. */
final class ClipEncoder {
  private final List<ClipEncoderLayer> layers;

  private ClipEncoder(List<ClipEncoderLayer> layers) {
    this.layers = layers;
  }

  static ClipEncoder load(
      Weights w, int layers, int hiddenSize, int intermediateSize, int numHeads, Activation activation, double eps) {
    Weights layerWeights = w.sub("layers");
    List<ClipEncoderLayer> loaded = new ArrayList<>(layers);
    for (int i = 0; i < layers; i++) {
      loaded.add(ClipEncoderLayer.load(layerWeights.sub(i), hiddenSize, intermediateSize, numHeads, activation, eps));
    }
    return new ClipEncoder(List.copyOf(loaded));
  }

  /**
   * Runs every layer; when {@code hiddenStates} is not null, the output of each layer is appended to
   * it (HF's {@code hidden_states[1..L]}).
   */
  NDArray forward(NDArray x, NDArray mask, List<NDArray> hiddenStates) {
    NDArray h = x;
    for (ClipEncoderLayer layer : layers) {
      h = layer.forward(h, mask);
      if (hiddenStates != null) {
        hiddenStates.add(h);
      }
    }
    return h;
  }
}

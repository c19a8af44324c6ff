package io.mmstream.model.minigpt4;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.blip2.Blip2QueryEncoder;
import io.mmstream.model.llama.LlamaForCausalLM;
import io.mmstream.model.llama.LlamaPrefixDecoder;
import io.mmstream.model.nn.LayerScope;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;

/**
 * MiniGPT-4 v1 ({@code MiniGPT4} of Vision-CAIR/MiniGPT-4): BLIP-2's EVA ViT-g and {@code ln_vision}, its query-only
 * Q-Former (the shared {@link Blip2QueryEncoder}), one linear layer ({@code llama_proj}) into Vicuna's embedding space,
 * and the project's LLaMA; {@link LavisBlip2Keys} lets the shared classes read the original key names.
 */
public final class MiniGpt4Model implements AutoCloseable {
  /** Standard deviation of random preset weights. */
  private static final float RANDOM_STD = 0.02f;

  private final MiniGpt4Config config;
  private final WeightStore store;
  private final Blip2QueryEncoder queryEncoder;
  private final Linear llamaProjection;
  private final LlamaForCausalLM languageModel;

  private MiniGpt4Model(MiniGpt4Config config, WeightStore store) {
    this.config = config;
    this.store = store;
    this.queryEncoder = Blip2QueryEncoder.load(new Weights(new LavisBlip2Keys(store)), config.queryEncoder());
    int qHidden = config.qformer().hiddenSize();
    Weights w = new Weights(store);
    this.llamaProjection = Linear.load(w.sub("llama_proj"), qHidden, config.text().hiddenSize(), true);
    this.languageModel = LlamaForCausalLM.load(w.sub("llama_model"), config.text());
  }

  /**
   * A model over {@code store}, whose keys are MiniGPT-4's state-dict names; the store is closed when building fails.
   * Unused keys are allowed, as the original loads every file with {@code strict=False}.
   */
  static MiniGpt4Model fromStore(MiniGpt4Config config, WeightStore store) {
    return WeightStore.buildOrClose(store, built -> new MiniGpt4Model(config, built));
  }

  /** A model of {@code config}'s shapes with random weights (benchmarks). */
  public static MiniGpt4Model random(MiniGpt4Config config, NDManager manager, DataType type, long seed) {
    return fromStore(config, new RandomWeightStore(manager, type, seed, RANDOM_STD));
  }

  public MiniGpt4Config config() {
    return config;
  }

  public DataType computeType() {
    return store.floatType();
  }

  public Blip2QueryEncoder queryEncoder() {
    return queryEncoder;
  }

  public LlamaForCausalLM languageModel() {
    return languageModel;
  }

  /** {@code ln_vision(visual_encoder(pixels))}: image states {@code [B, S, C]}. */
  public NDArray encodeImages(NDArray pixelValues) {
    return queryEncoder.encodeImages(pixelValues);
  }

  /** The Q-Former's last hidden state {@code [B, Q, H]}: the query rows after attending to {@code imageStates}. */
  public NDArray qformerStates(NDArray imageStates) {
    return queryEncoder.queryOutput(imageStates);
  }

  /** {@code llama_proj} of Q-Former states: {@code [B, Q, D]} rows in the language model's embedding space. */
  public NDArray project(NDArray qformerStates) {
    return llamaProjection.forward(qformerStates);
  }

  /** {@code encode_img}: pixels {@code [B, 3, H, W]} to the image rows {@code [B, Q, D]} spliced into the prompt. */
  public NDArray encodeImage(NDArray pixelValues) {
    return LayerScope.apply(pixelValues, px -> project(qformerStates(encodeImages(px))));
  }

  /** Vicuna continuing {@code inputsEmbeds [B, L, D]} (no padding) with the KV cache; the caller closes it. */
  public LlamaPrefixDecoder decoder(NDArray inputsEmbeds) {
    Shape shape = inputsEmbeds.getShape();
    try (NDManager call = inputsEmbeds.getManager().newSubManager()) {
      NDArray mask = call.ones(new Shape(shape.get(0), shape.get(1)), DataType.INT64);
      return new LlamaPrefixDecoder(languageModel, inputsEmbeds, mask, true);
    }
  }

  @Override
  public void close() throws IOException {
    store.close();
  }
}

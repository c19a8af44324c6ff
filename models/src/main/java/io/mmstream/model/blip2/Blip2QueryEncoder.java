package io.mmstream.model.blip2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.mmstream.model.blip.BlipVisionModel;
import io.mmstream.model.instructblip.InstructBlipConfig;
import io.mmstream.model.instructblip.InstructBlipQFormer;
import io.mmstream.model.tensor.Weights;

/**
 * The image half every Q-Former model shares: EVA ViT → {@code ln_vision} → Q-Former over learned queries. BLIP-2's
 * Q-Former reads its queries only; InstructBLIP's also reads the instruction ({@link #queryOutput(NDArray, NDArray,
 * NDArray)}). The language projection and language model are the caller's (BLIP-2, InstructBLIP, MiniGPT-4).
 */
public final class Blip2QueryEncoder {
  private final Blip2Config config;
  private final BlipVisionModel vision;
  private final NDArray queryTokens;
  private final InstructBlipQFormer qformer;

  private Blip2QueryEncoder(Blip2Config config, BlipVisionModel vision, NDArray queryTokens, InstructBlipQFormer qformer) {
    this.config = config;
    this.vision = vision;
    this.queryTokens = queryTokens;
    this.qformer = qformer;
  }

  /**
   * Loads {@code vision_model.*}, {@code query_tokens} and {@code qformer.*} under {@code w}. The final vision
   * LayerNorm uses the original {@code ln_vision}'s eps (1e-5), not {@code vision_config.layer_norm_eps} as HF does.
   */
  public static Blip2QueryEncoder load(Weights w, Blip2Config c) {
    int hidden = c.qformer().hiddenSize();
    return new Blip2QueryEncoder(
        c,
        BlipVisionModel.load(w.sub("vision_model"), c.vision(), InstructBlipConfig.ORIGINAL_LN_VISION_EPS),
        w.get("query_tokens", 1, c.numQueryTokens(), hidden),
        c.instructionAware()
            ? InstructBlipQFormer.load(w.sub("qformer"), c.qformer())
            : InstructBlipQFormer.loadQueryOnly(w.sub("qformer"), c.qformer()));
  }

  public Blip2Config config() {
    return config;
  }

  public BlipVisionModel vision() {
    return vision;
  }

  /** {@code pixelValues [B, 3, H, W]} to image states {@code [B, S, W]} after {@code ln_vision}. */
  public NDArray encodeImages(NDArray pixelValues) {
    return vision.forward(pixelValues.toType(queryTokens.getDataType(), false));
  }

  /** BLIP-2: the Q-Former's query output {@code [B, Q, H]} over image states {@code [B, S, W]}. */
  public NDArray queryOutput(NDArray imageStates) {
    NDArray embedded = qformer.embedQueries(queryTokens, imageStates.getShape().get(0), imageStates.getManager());
    return qformer.encode(embedded, null, imageStates, config.numQueryTokens());
  }

  /** InstructBLIP: the query rows {@code [B, Q, H]} of the Q-Former over the queries and the instruction. */
  public NDArray queryOutput(NDArray imageStates, NDArray instructionIds, NDArray instructionMask) {
    NDArray states = qformer.encode(qformer.embed(queryTokens, instructionIds), instructionMask, imageStates,
        config.numQueryTokens());
    return states.get(new NDIndex(":, :" + config.numQueryTokens()));
  }
}

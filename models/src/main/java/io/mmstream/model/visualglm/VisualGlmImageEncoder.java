package io.mmstream.model.visualglm;

import ai.djl.ndarray.NDArray;
import io.mmstream.model.blip.BlipVisionModel;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.Weights;

/**
 * VisualGLM's image module ({@code image_encoder}, the remote code's {@code BLIP2}): EVA ViT with {@code ln_vision},
 * the Q-Former's 32 query outputs, and {@code glm_proj} into ChatGLM's width.
 */
public final class VisualGlmImageEncoder {
  private final BlipVisionModel vision;
  private final VisualGlmQFormer qformer;
  private final Linear glmProjection;

  private VisualGlmImageEncoder(BlipVisionModel vision, VisualGlmQFormer qformer, Linear glmProjection) {
    this.vision = vision;
    this.qformer = qformer;
    this.glmProjection = glmProjection;
  }

  /** Loads {@code vit.*}, {@code qformer.*} and {@code glm_proj.*} under {@code w} ({@code image_encoder}). */
  public static VisualGlmImageEncoder load(Weights w, VisualGlmConfig c) {
    return new VisualGlmImageEncoder(
        EvaVisionTower.load(w.sub("vit"), c.vision()),
        VisualGlmQFormer.load(w.sub("qformer"), c.qformer()),
        Linear.load(w.sub("glm_proj"), c.qformer().hiddenSize(), c.glm().hiddenSize(), true));
  }

  public BlipVisionModel vision() {
    return vision;
  }

  public VisualGlmQFormer qformer() {
    return qformer;
  }

  /** {@code pixelValues [B, 3, S, S]} to image embeddings {@code [B, image_length, H_glm]}. */
  public NDArray forward(NDArray pixelValues) {
    return glmProjection.forward(qformer.forward(vision.forward(pixelValues)));
  }
}

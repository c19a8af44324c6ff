package io.mmstream.model.instructblip;

import java.util.OptionalLong;

/**
 * Load-time choices for {@link InstructBlipForConditionalGeneration}.
 *
 * @param lnVisionEps eps of the vision tower's final LayerNorm ({@code ln_vision}); the original's
 *     1e-5 by default, {@code vision_config.layer_norm_eps} with {@link #hfPostLayerNormEps()}
 * @param memoryBudgetBytes the most bytes the weights may take; empty means what the device has available
 */
public record InstructBlipOptions(LnVisionEps lnVisionEps, OptionalLong memoryBudgetBytes) {

  /** Which eps the vision tower's final LayerNorm uses. */
  public enum LnVisionEps {
    /** torch's default 1e-5, as LAVIS' {@code ln_vision}: the reference. */
    ORIGINAL,
    /** {@code vision_config.layer_norm_eps}, as HF's {@code post_layernorm} does. */
    CONFIG
  }

  public static InstructBlipOptions defaults() {
    return new InstructBlipOptions(LnVisionEps.ORIGINAL, OptionalLong.empty());
  }

  public InstructBlipOptions hfPostLayerNormEps() {
    return new InstructBlipOptions(LnVisionEps.CONFIG, memoryBudgetBytes);
  }

  public InstructBlipOptions withMemoryBudget(long bytes) {
    return new InstructBlipOptions(lnVisionEps, OptionalLong.of(bytes));
  }
}

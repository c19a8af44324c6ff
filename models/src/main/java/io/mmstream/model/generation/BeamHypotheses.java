package io.mmstream.model.generation;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The finished hypotheses of one batch item in beam search (transformers' {@code BeamHypotheses}). */
final class BeamHypotheses {

  /**
   * A finished sequence without its stop token; {@code step} and {@code row} locate the logits its
   * last token was chosen from.
   */
  record Hypothesis(long[] tokens, double score, int step, int row) {}

  private final int beams;
  private final float lengthPenalty;
  private final List<Hypothesis> kept = new ArrayList<>();
  private double worstScore = 1e9;

  BeamHypotheses(int beams, float lengthPenalty) {
    this.beams = beams;
    this.lengthPenalty = lengthPenalty;
  }

  void add(long[] tokens, float sumLogProbs, int step, int row) {
    double score = sumLogProbs / Math.pow(tokens.length, lengthPenalty);
    if (kept.size() < beams || score > worstScore) {
      kept.add(new Hypothesis(tokens.clone(), score, step, row));
      if (kept.size() > beams) {
        Hypothesis worst = kept.stream().min(Comparator.comparingDouble(Hypothesis::score)).orElseThrow();
        kept.remove(worst);
        worstScore = kept.stream().mapToDouble(Hypothesis::score).min().orElseThrow();
      } else {
        worstScore = Math.min(score, worstScore);
      }
    }
  }

  /** No running beam can beat the worst kept hypothesis any more (early_stopping=False). */
  boolean isDone(float bestSumLogProbs, int length) {
    if (kept.size() < beams) {
      return false;
    }
    return worstScore >= bestSumLogProbs / Math.pow(length, lengthPenalty);
  }

  Hypothesis best() {
    return kept.stream().max(Comparator.comparingDouble(Hypothesis::score)).orElseThrow();
  }
}

package io.mmstream.demo.train;

import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;

/**
 * How long and how fast one demo model trains: Adam with a linear warm-up then a cosine decay to a
 * tenth of the peak learning rate.
 */
public record TrainingPlan(int steps, int batchSize, float learningRate, long seed) {

  public TrainingPlan {
    if (steps < 1 || batchSize < 1 || learningRate <= 0) {
      throw new IllegalArgumentException("steps, batch size and learning rate must be positive");
    }
  }

  public TrainingPlan withSteps(int newSteps) {
    return new TrainingPlan(newSteps, batchSize, learningRate, seed);
  }

  Optimizer optimizer() {
    int warmUp = Math.max(1, steps / 20);
    Tracker cosine = Tracker.cosine()
        .setBaseValue(learningRate)
        .optFinalValue(learningRate / 10)
        .setMaxUpdates(Math.max(1, steps - warmUp))
        .build();
    Tracker schedule = Tracker.warmUp().optWarmUpSteps(warmUp).optWarmUpBeginValue(learningRate / 100)
        .setMainTracker(cosine).build();
    return Optimizer.adam().optLearningRateTracker(schedule).optClipGrad(1f).build();
  }
}

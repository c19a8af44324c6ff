package io.mmstream.demo.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import java.io.PrintStream;
import java.util.function.Supplier;

/** Steps of minibatch gradient descent: forward under the gradient collector, backward, Adam update. */
final class TrainingLoop {
  /** One training step's loss: builds the model over the step's parameter views and runs the batch. */
  @FunctionalInterface
  interface StepLoss<T> {
    NDArray loss(T batch, NDManager step);
  }

  /** Steps with a non-finite loss that are left out before the run fails. */
  private static final int MAX_SKIPPED = 20;

  private TrainingLoop() {}

  /** Runs {@code plan.steps()} steps; returns the mean loss of the last tenth of them. */
  static <T> double run(String name, TrainableWeights parameters, NDManager root, TrainingPlan plan,
                        Supplier<T> nextBatch, StepLoss<T> stepLoss, PrintStream log) {
    Optimizer optimizer = plan.optimizer();
    int reportEvery = Math.max(1, plan.steps() / 10);
    int tail = Math.max(1, plan.steps() / 10);
    double tailLoss = 0;
    double windowLoss = 0;
    int skipped = 0;
    long started = System.nanoTime();
    try (BatchPrefetcher<T> batches = new BatchPrefetcher<>(name + "-batches", plan.steps(), nextBatch)) {
      for (int step = 1; step <= plan.steps(); step++) {
        T batch = batches.next();
        float loss;
        try (NDManager stepManager = root.newSubManager();
             GradientCollector collector = Engine.getInstance().newGradientCollector()) {
          parameters.beginStep(stepManager);
          NDArray value = stepLoss.loss(batch, stepManager);
          collector.backward(value);
          loss = value.getFloat();
        }
        if (!Float.isFinite(loss)) {
          // Seen now and then in the chat model's steps on CPU, at no fixed step for one seed: the step is left
          // out (its gradients dropped) unless the parameters themselves went bad, or it keeps happening.
          String bad = parameters.firstNonFinite();
          if (bad != null || ++skipped > MAX_SKIPPED) {
            throw new IllegalStateException(name + ": loss is " + loss + " at step " + step
                + (bad != null ? "; parameter " + bad + " is not finite" : "; " + skipped + " steps skipped"));
          }
          log.printf("%s: loss is %s at step %d with finite parameters: step skipped%n", name, loss, step);
          parameters.dropGradients();
          continue;
        }
        parameters.update(optimizer);
        windowLoss += loss;
        if (step > plan.steps() - tail) {
          tailLoss += loss;
        }
        if (step % reportEvery == 0) {
          log.printf("%s: step %d/%d  loss %.4f  (%.0f s)%n", name, step, plan.steps(), windowLoss / reportEvery,
              (System.nanoTime() - started) / 1e9);
          windowLoss = 0;
        }
      }
    }
    return tailLoss / tail;
  }
}

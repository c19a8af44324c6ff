package io.mmstream.worker;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that runs batches on one device: takes batches from the shared batcher, skips
 * cancelled tasks and those past their deadline, runs the rest, and when a batch throws, splits it
 * in halves until the failing items are alone, so they fail and their batch-mates succeed.
 */
final class ModelExecutor<Q, P, O> implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(ModelExecutor.class);

  private final String device;
  private final WorkerModel<Q, P, O> model;
  private final DynamicBatcher<PendingTask<Q, P, O>> batcher;
  private final WorkerMetrics metrics;
  private final WorkerMetrics.ExecutorMeters meters;
  private final Runnable batchFinished;

  /** @param batchFinished called after each batch, so the results get committed without waiting for a timer */
  ModelExecutor(
      String device,
      WorkerModel<Q, P, O> model,
      DynamicBatcher<PendingTask<Q, P, O>> batcher,
      WorkerMetrics metrics,
      Runnable batchFinished) {
    this.device = device;
    this.model = model;
    this.batcher = batcher;
    this.metrics = metrics;
    this.meters = metrics.executor(device);
    this.batchFinished = batchFinished;
  }

  String device() {
    return device;
  }

  @Override
  public void run() {
    try {
      DynamicBatcher.Batch<PendingTask<Q, P, O>> batch;
      while ((batch = batcher.nextBatch()) != null) {
        runBatch(batch);
        batchFinished.run();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void runBatch(DynamicBatcher.Batch<PendingTask<Q, P, O>> batch) {
    long nowMs = System.currentTimeMillis();
    List<PendingTask<Q, P, O>> runnable = new ArrayList<>(batch.size());
    List<Long> waits = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      PendingTask<Q, P, O> task = batch.items().get(i);
      long wait = batch.queueWaitNanos()[i];
      if (task.isCancelled()) {
        continue;
      }
      meters.recordQueueWait(wait);
      long enqueued = batch.takenNanos() - wait;
      task.deviceBusyNanos = Math.max(0, batch.requestedNanos() - enqueued);
      task.batchFillNanos = wait - task.deviceBusyNanos;
      if (task.deadlinePassed(nowMs)) {
        task.fail("deadline", "DEADLINE_EXCEEDED", "deadline " + Instant.ofEpochMilli(task.deadlineMs) + " passed before the model ran", wait);
      } else {
        runnable.add(task);
        waits.add(wait);
      }
    }
    if (runnable.isEmpty()) {
      return;
    }
    long[] queueNanos = waits.stream().mapToLong(Long::longValue).toArray();
    List<Integer> indices = new ArrayList<>(runnable.size());
    for (int i = 0; i < runnable.size(); i++) {
      indices.add(i);
    }
    runIsolating(
        indices,
        part -> {
          List<P> inputs = new ArrayList<>(part.size());
          part.forEach(i -> inputs.add(runnable.get(i).prepared));
          long start = System.nanoTime();
          List<O> outputs = model.runBatch(inputs);
          long compute = System.nanoTime() - start;
          if (outputs.size() != inputs.size()) {
            throw new IllegalStateException("model returned " + outputs.size() + " outputs for " + inputs.size() + " inputs");
          }
          meters.recordBatch(inputs.size(), compute);
          for (int k = 0; k < part.size(); k++) {
            int i = part.get(k);
            runnable.get(i).succeed(outputs.get(k), part.size(), queueNanos[i], compute);
          }
          return outputs;
        },
        (i, error) -> {
          LOG.warn("task {} failed in the model on {}: {}", runnable.get(i).taskId, device, error.toString());
          runnable.get(i).fail("model", "MODEL_ERROR", error.toString(), queueNanos[i]);
        },
        metrics::recordBatchSplit);
  }

  /** Receives the error of an item that failed alone. */
  interface ItemFailure<T> {
    void failed(T item, RuntimeException error);
  }

  /**
   * Runs {@code items} as one batch; if that throws, runs each half the same way, down to single
   * items, which are reported to {@code onFailure}. A batch with k failing items of n costs at most
   * about 2k log2(n) extra calls.
   */
  static <T, R> void runIsolating(
      List<T> items, Function<List<T>, List<R>> run, ItemFailure<T> onFailure, Runnable onSplit) {
    try {
      run.apply(items);
    } catch (RuntimeException error) {
      if (items.size() == 1) {
        onFailure.failed(items.get(0), error);
        return;
      }
      onSplit.run();
      int half = items.size() / 2;
      runIsolating(items.subList(0, half), run, onFailure, onSplit);
      runIsolating(items.subList(half, items.size()), run, onFailure, onSplit);
    }
  }
}

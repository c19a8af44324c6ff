package io.mmstream.worker;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Where each answered task's time went inside the worker, stage by stage, in microsecond
 * HdrHistograms: what `bench worker` reports to show which queue holds latency. Recorded by the poll
 * thread when a task's answer is committed; only tasks the model answered pass every stage, so only
 * they are recorded.
 */
public final class LatencyBreakdown {

  /** The stages in the order a task passes them; DECODE_QUEUE through COMMIT add up to WORKER_TOTAL. */
  public enum Stage {
    /** From the task record's timestamp to the poll that admitted it (millisecond clock). */
    FETCH("fetch"),
    /** Admitted, waiting for a thread of the decode pool. */
    DECODE_QUEUE("decode_queue"),
    /** Image load, decode and model preprocessing. */
    PREPROCESS("preprocess"),
    /** Prepared, waiting while the device ran earlier batches. */
    DEVICE_BUSY("device_busy"),
    /** Prepared with the device free, waiting for the batch to fill (bounded by the max delay). */
    BATCH_FILL("batch_fill"),
    /** The forward pass of its batch. */
    MODEL("model"),
    /** Answered, waiting for the poll thread to start the transaction that commits it. */
    COMMIT_WAIT("commit_wait"),
    /** The transaction: results and offsets sent, then committed. */
    COMMIT("commit"),
    /** From admission to committed; excludes {@link #FETCH}. */
    WORKER_TOTAL("worker_total");

    private final String label;

    Stage(String label) {
      this.label = label;
    }

    /** The stage's name in benchmark output. */
    public String label() {
      return label;
    }
  }

  private final Map<Stage, Histogram> histograms = new EnumMap<>(Stage.class);

  public LatencyBreakdown() {
    for (Stage stage : Stage.values()) {
      histograms.put(stage, new Histogram(3));
    }
  }

  synchronized void record(Stage stage, long nanos) {
    histograms.get(stage).recordValue(Math.max(0, TimeUnit.NANOSECONDS.toMicros(nanos)));
  }

  /** Copies of every stage's histogram (microseconds) since the last call, which starts new ones. */
  public synchronized Map<Stage, Histogram> snapshotAndReset() {
    Map<Stage, Histogram> copy = new EnumMap<>(Stage.class);
    histograms.forEach((stage, histogram) -> {
      copy.put(stage, histogram.copy());
      histogram.reset();
    });
    return copy;
  }
}

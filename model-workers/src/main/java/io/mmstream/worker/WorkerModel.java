package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.ModelInfo;
import java.util.List;

/**
 * A model as the worker runtime sees it, whatever its task records: per-item preprocessing on the CPU
 * pool, then batched execution on one device thread. {@link TaskModel} is the image-task case
 * (TaskRequest in, TaskOutputs out); the chat kind answers ChatTask records.
 *
 * @param <Q> the task record it answers
 * @param <P> a prepared input: host-side data (no device tensors), so any instance's {@link
 *     #prepare} output can run on any device
 * @param <O> the output for one task
 */
public interface WorkerModel<Q, P, O> extends AutoCloseable {

  ModelInfo info();

  /**
   * Preprocesses one task (resize, normalise, tokenise). Called concurrently from the CPU pool.
   *
   * @param image the task's decoded image; null when the task carries none (chat turns may not)
   * @throws TaskRejectedException when the task itself is invalid for this model (e.g. no questions)
   */
  P prepare(Q task, PixelImage image) throws TaskRejectedException;

  /**
   * Runs one batch on this instance's device, one output per input in order. Called from one thread
   * only. Must not modify or release its inputs: after a failure the runtime calls it again on halves
   * of the batch to find the item that fails.
   */
  List<O> runBatch(List<P> batch);

  /** Runs a few batches up to {@code maxBatchSize} so the first real batch pays no warm-up cost. */
  void warmUp(int maxBatchSize);

  @Override
  void close();
}

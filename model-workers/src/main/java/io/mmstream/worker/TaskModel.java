package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.ModelInfo;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import java.util.List;

/**
 * A model as the worker runtime sees it: per-item preprocessing on the CPU pool, then batched
 * execution on one device thread.
 *
 * @param <P> a prepared input: host-side data (no device tensors), so any instance's {@link
 *     #prepare} output can run on any device
 */
public interface TaskModel<P> extends AutoCloseable {

  ModelInfo info();

  /**
   * Preprocesses one task (resize, normalise, tokenise). Called concurrently from the CPU pool.
   *
   * @throws TaskRejectedException when the task itself is invalid for this model (e.g. no questions)
   */
  P prepare(TaskRequest request, PixelImage image) throws TaskRejectedException;

  /**
   * Runs one batch on this instance's device, one output per input in order. Called from one thread
   * only. Must not modify or release its inputs: after a failure the runtime calls it again on halves
   * of the batch to find the item that fails.
   */
  List<TaskOutputs> runBatch(List<P> batch);

  /** Runs a few batches up to {@code maxBatchSize} so the first real batch pays no warm-up cost. */
  void warmUp(int maxBatchSize);

  @Override
  void close();
}

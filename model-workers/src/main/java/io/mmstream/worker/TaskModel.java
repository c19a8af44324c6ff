package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import java.util.List;

/**
 * A model of the image-task kinds (tag, caption, VQA): a TaskRequest and its decoded image in, the
 * TaskOutputs of its TaskResult out.
 *
 * @param <P> a prepared input: host-side data (no device tensors)
 */
public interface TaskModel<P> extends WorkerModel<TaskRequest, P, TaskOutputs> {

  /** @throws TaskRejectedException when the task itself is invalid for this model (e.g. no questions) */
  @Override
  P prepare(TaskRequest request, PixelImage image) throws TaskRejectedException;

  @Override
  List<TaskOutputs> runBatch(List<P> batch);
}

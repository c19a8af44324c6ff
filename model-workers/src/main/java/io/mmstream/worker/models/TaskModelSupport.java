package io.mmstream.worker.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.VqaTask;
import io.mmstream.worker.TaskModel;
import io.mmstream.worker.TaskRejectedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Plumbing the built-in task models share: manager lifetime, VQA validation and warm-up batches. */
final class TaskModelSupport {
  /** Builds a model whose tensors live in {@code manager}. */
  @FunctionalInterface
  interface ManagedLoader<M> {
    M load(NDManager manager) throws IOException;
  }

  /** A model-side resource whose close may fail with an I/O error. */
  @FunctionalInterface
  interface IoCloseable {
    void close() throws IOException;
  }

  private TaskModelSupport() {}

  /** Runs {@code loader} with a fresh base manager on {@code device}, closing the manager when loading fails. */
  static <M> M loadWithManager(Device device, ManagedLoader<M> loader) throws IOException {
    NDManager manager = NDManager.newBaseManager(device);
    try {
      return loader.load(manager);
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Closes {@code model}, then always {@code manager}, which holds its tensors. */
  static void closeWithManager(IoCloseable model, NDManager manager) {
    try {
      model.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      manager.close();
    }
  }

  /** The questions of a VQA task, rejecting a task without any. */
  static List<String> requireQuestions(TaskRequest request) throws TaskRejectedException {
    VqaTask task = request.getVqa();
    if (task == null || task.getQuestions().isEmpty()) {
      throw new TaskRejectedException("validate", "NO_QUESTIONS", "the VQA task has no questions");
    }
    return List.copyOf(task.getQuestions());
  }

  /** Runs a batch of one, then one of {@code maxBatchSize}, each input from {@code input}. */
  static <P> void warmUp(TaskModel<P> model, int maxBatchSize, Supplier<P> input) {
    for (int n : new int[] {1, maxBatchSize}) {
      List<P> batch = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        batch.add(input.get());
      }
      model.runBatch(batch);
    }
  }
}

package io.mmstream.demo.train;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Supplier;

/**
 * Draws and preprocesses the next batches on a thread of their own while the current one trains,
 * so scene rendering and resizing stay off the training thread.
 */
final class BatchPrefetcher<T> implements AutoCloseable {
  private final BlockingQueue<Object> ready = new ArrayBlockingQueue<>(2);
  private final Thread producer;

  BatchPrefetcher(String name, int batches, Supplier<T> nextBatch) {
    producer = new Thread(() -> {
      try {
        for (int i = 0; i < batches; i++) {
          ready.put(produce(nextBatch));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, name);
    producer.setDaemon(true);
    producer.start();
  }

  private static Object produce(Supplier<?> nextBatch) {
    try {
      return nextBatch.get();
    } catch (RuntimeException e) {
      return e;
    }
  }

  @SuppressWarnings("unchecked")
  T next() {
    try {
      Object item = ready.take();
      if (item instanceof RuntimeException e) {
        throw new IllegalStateException("preparing a training batch failed: " + e.getMessage(), e);
      }
      return (T) item;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a training batch", e);
    }
  }

  @Override
  public void close() {
    producer.interrupt();
  }
}

package io.mmstream.worker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded queue that hands out batches: a full batch of {@code maxSize} as soon as that many items
 * wait, otherwise whatever waits once the oldest item has waited {@code maxDelay}. When preferred
 * sizes are given, a batch cut by the delay is trimmed to the largest preferred size that fits; the
 * rest are already late and go out in the next batch at once.
 *
 * <p>Items still being prepared can be {@linkplain #announce() announced}. When the device frees up
 * with a partial batch whose delay already ran out (it queued while the previous batch ran), the
 * batch waits up to {@code maxDelay} more for announced items: one a few milliseconds from ready
 * would otherwise wait a whole batch time for the next one.
 *
 * <p>Executors call {@link #nextBatch()} when their device is free, so items keep queueing (and
 * preprocessing) while the current batch runs. Written by hand because the JDK has no
 * size-or-deadline draining queue.
 */
public final class DynamicBatcher<T> {

  /**
   * Items in arrival order, with how long each waited in the queue; {@code requestedNanos} is when
   * the executor asked for the batch and {@code takenNanos} when it got it, so that each wait splits
   * into waiting for a busy device and waiting for the batch to fill.
   */
  public record Batch<T>(List<T> items, long[] queueWaitNanos, long requestedNanos, long takenNanos) {
    public int size() {
      return items.size();
    }
  }

  private record Entry<T>(T item, long enqueuedNanos) {}

  private final int maxSize;
  private final long maxDelayNanos;
  private final int[] preferredSizes;
  private final int capacity;
  private final ArrayDeque<Entry<T>> queue = new ArrayDeque<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notEmpty = lock.newCondition();
  private final Condition notFull = lock.newCondition();
  private int announced;
  private boolean closed;

  public DynamicBatcher(int maxSize, Duration maxDelay, List<Integer> preferredSizes, int capacity) {
    if (maxSize < 1 || capacity < maxSize) {
      throw new IllegalArgumentException("need 1 <= maxSize <= capacity");
    }
    this.maxSize = maxSize;
    this.maxDelayNanos = maxDelay.toNanos();
    this.preferredSizes = preferredSizes.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
    this.capacity = capacity;
  }

  /** Adds an item, waiting while the queue is full. */
  public void put(T item) throws InterruptedException {
    lock.lock();
    try {
      while (queue.size() >= capacity && !closed) {
        notFull.await();
      }
      if (closed) {
        throw new IllegalStateException("batcher closed");
      }
      queue.addLast(new Entry<>(item, System.nanoTime()));
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Says one more item is being prepared and will be {@linkplain #putAnnounced put} or {@linkplain #withdraw withdrawn}. */
  public void announce() {
    lock.lock();
    try {
      announced++;
    } finally {
      lock.unlock();
    }
  }

  /** Adds an announced item, waiting while the queue is full. */
  public void putAnnounced(T item) throws InterruptedException {
    lock.lock();
    try {
      put(item);
      announced = Math.max(0, announced - 1);
    } finally {
      lock.unlock();
    }
  }

  /** An announced item will not come (it failed or was cancelled). */
  public void withdraw() {
    lock.lock();
    try {
      announced = Math.max(0, announced - 1);
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Adds an item if there is room; false when the queue is full or closed. */
  public boolean offer(T item) {
    lock.lock();
    try {
      if (closed || queue.size() >= capacity) {
        return false;
      }
      queue.addLast(new Entry<>(item, System.nanoTime()));
      notEmpty.signalAll();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** The next batch, waiting as described above; null once closed and drained. */
  public Batch<T> nextBatch() throws InterruptedException {
    long requested = System.nanoTime();
    lock.lock();
    try {
      while (true) {
        if (queue.isEmpty()) {
          if (closed) {
            return null;
          }
          notEmpty.await();
          continue;
        }
        long now = System.nanoTime();
        long oldest = queue.peekFirst().enqueuedNanos();
        if (queue.size() >= maxSize) {
          return take(maxSize, requested, now);
        }
        if (closed) {
          return take(sizeAfterDelay(queue.size()), requested, now);
        }
        if (now - oldest < maxDelayNanos) {
          notEmpty.awaitNanos(maxDelayNanos - (now - oldest));
          continue;
        }
        // The delay ran out; items being prepared may still join, for at most maxDelay after the device was free.
        long fillDeadline = Math.max(requested, oldest) + maxDelayNanos;
        if (announced > 0 && now < fillDeadline) {
          notEmpty.awaitNanos(fillDeadline - now);
          continue;
        }
        return take(sizeAfterDelay(queue.size()), requested, now);
      }
    } finally {
      lock.unlock();
    }
  }

  public int size() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** Stops accepting items; executors drain what is queued, then get null. */
  public void close() {
    lock.lock();
    try {
      closed = true;
      notEmpty.signalAll();
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private int sizeAfterDelay(int available) {
    for (int i = preferredSizes.length - 1; i >= 0; i--) {
      if (preferredSizes[i] <= available) {
        return preferredSizes[i];
      }
    }
    return available;
  }

  private Batch<T> take(int n, long requested, long now) {
    List<T> items = new ArrayList<>(n);
    long[] waits = new long[n];
    for (int i = 0; i < n; i++) {
      Entry<T> entry = queue.pollFirst();
      items.add(entry.item());
      waits[i] = now - entry.enqueuedNanos();
    }
    notFull.signalAll();
    return new Batch<>(items, waits, requested, now);
  }
}

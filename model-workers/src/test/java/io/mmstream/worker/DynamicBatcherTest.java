package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {

  @Test
  void fullBatchesGoOutInArrivalOrder() throws Exception {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(4, Duration.ofHours(1), List.of(), 16);
    for (int i = 0; i < 10; i++) {
      batcher.put(i);
    }
    assertThat(batcher.nextBatch().items()).containsExactly(0, 1, 2, 3);
    assertThat(batcher.nextBatch().items()).containsExactly(4, 5, 6, 7);
    assertThat(batcher.size()).isEqualTo(2);
  }

  @Test
  void partialBatchGoesOutOnceTheOldestItemWaitedTheMaxDelay() throws Exception {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(8, Duration.ofMillis(30), List.of(), 16);
    batcher.put(1);
    batcher.put(2);
    DynamicBatcher.Batch<Integer> batch = batcher.nextBatch();
    assertThat(batch.items()).containsExactly(1, 2);
    assertThat(batch.queueWaitNanos()[0]).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30));
  }

  @Test
  void batchCutByTheDelayIsTrimmedToTheLargestPreferredSize() throws Exception {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(8, Duration.ofMillis(1), List.of(4, 2), 16);
    for (int i = 0; i < 7; i++) {
      batcher.put(i);
    }
    assertThat(batcher.nextBatch().items()).containsExactly(0, 1, 2, 3);
    assertThat(batcher.nextBatch().items()).containsExactly(4, 5);
    assertThat(batcher.nextBatch().items()).containsExactly(6);
  }

  @Test
  void itemArrivingWhileWaitingCompletesAFullBatch() throws Exception {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(3, Duration.ofHours(1), List.of(), 16);
    batcher.put(1);
    batcher.put(2);
    CompletableFuture<DynamicBatcher.Batch<Integer>> next = CompletableFuture.supplyAsync(() -> {
      try {
        return batcher.nextBatch();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    batcher.put(3);
    assertThat(next.get().items()).containsExactly(1, 2, 3);
  }

  @Test
  void partialBatchThatQueuedWhileTheDeviceWasBusyWaitsForAnnouncedItems() throws Exception {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(4, Duration.ofMillis(200), List.of(), 16);
    batcher.put(1);
    batcher.put(2);
    batcher.announce();
    Thread.sleep(250); // the device is busy until now: the queued items' delay has run out
    CompletableFuture<DynamicBatcher.Batch<Integer>> next = CompletableFuture.supplyAsync(() -> {
      try {
        return batcher.nextBatch();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    Thread.sleep(20);
    batcher.putAnnounced(3);
    DynamicBatcher.Batch<Integer> batch = next.get();
    assertThat(batch.items()).containsExactly(1, 2, 3);
    // Items 1 and 2 waited for the device, then for item 3; item 3 only for the batch to fill.
    assertThat(batch.requestedNanos()).isLessThanOrEqualTo(batch.takenNanos());
    assertThat(batch.queueWaitNanos()[0]).isGreaterThan(batch.takenNanos() - batch.requestedNanos());
  }

  @Test
  void withdrawnItemNoLongerHoldsThePartialBatch() throws Exception {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(4, Duration.ofSeconds(1), List.of(), 16);
    batcher.put(1);
    batcher.announce();
    Thread.sleep(1050);
    CompletableFuture<DynamicBatcher.Batch<Integer>> next = CompletableFuture.supplyAsync(() -> {
      try {
        return batcher.nextBatch();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    Thread.sleep(20);
    batcher.withdraw();
    DynamicBatcher.Batch<Integer> batch = next.get();
    assertThat(batch.items()).containsExactly(1);
    assertThat(batch.takenNanos() - batch.requestedNanos()).isLessThan(TimeUnit.MILLISECONDS.toNanos(800));
  }

  @Test
  void queueIsBounded() {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(2, Duration.ofHours(1), List.of(), 3);
    List<Boolean> accepted = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      accepted.add(batcher.offer(i));
    }
    assertThat(accepted).containsExactly(true, true, true, false, false);
  }

  @Test
  void closedBatcherDrainsThenEnds() throws Exception {
    DynamicBatcher<Integer> batcher = new DynamicBatcher<>(8, Duration.ofHours(1), List.of(), 16);
    batcher.put(1);
    batcher.close();
    assertThat(batcher.nextBatch().items()).containsExactly(1);
    assertThat(batcher.nextBatch()).isNull();
    assertThatThrownBy(() -> batcher.put(2)).isInstanceOf(IllegalStateException.class);
  }
}

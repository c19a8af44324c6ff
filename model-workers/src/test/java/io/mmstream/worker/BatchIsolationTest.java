package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BatchIsolationTest {

  /** A batch "model" that squares its inputs and throws when the batch holds a poison value. */
  private static List<Integer> squaresUnlessPoisoned(List<Integer> batch, Set<Integer> poison, List<Integer> succeeded) {
    if (batch.stream().anyMatch(poison::contains)) {
      throw new IllegalArgumentException("poison in batch");
    }
    succeeded.addAll(batch);
    return batch.stream().map(x -> x * x).toList();
  }

  @Test
  void bisectionIsolatesEveryFailingItemAndRunsAllOthers() {
    List<Integer> items = IntStream.range(0, 16).boxed().toList();
    Set<Integer> poison = Set.of(3, 11);
    List<Integer> succeeded = new ArrayList<>();
    List<Integer> failed = new ArrayList<>();
    AtomicInteger splits = new AtomicInteger();

    ModelExecutor.runIsolating(
        items, batch -> squaresUnlessPoisoned(batch, poison, succeeded), (item, error) -> failed.add(item), splits::incrementAndGet);

    assertThat(failed).containsExactly(3, 11);
    assertThat(succeeded).containsExactlyInAnyOrderElementsOf(items.stream().filter(i -> !poison.contains(i)).toList());
    assertThat(splits.get()).isLessThanOrEqualTo(2 * 4);
  }

  @Test
  void batchWithoutFailuresRunsOnce() {
    List<Integer> succeeded = new ArrayList<>();
    AtomicInteger splits = new AtomicInteger();
    ModelExecutor.runIsolating(
        List.of(1, 2, 3), batch -> squaresUnlessPoisoned(batch, Set.of(), succeeded), (item, error) -> {}, splits::incrementAndGet);
    assertThat(succeeded).containsExactly(1, 2, 3);
    assertThat(splits.get()).isZero();
  }
}

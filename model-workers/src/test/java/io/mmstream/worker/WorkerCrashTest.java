package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.topic.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Exactly-once across a rebalance and a crash, on a real broker with the {@link MeanColourModel}
 * fixture: the guarantee is the runtime's, independent of the model, and the fixture keeps 1,200
 * tasks fast (its 15 ms per batch stands in for model time).
 *
 * <p>Worker A starts on 1,200 tasks; worker B joins (a rebalance moves partitions away from A while
 * it has work in flight); then A crashes in the middle of a transaction (results and offsets sent,
 * never committed, clients dropped without leaving the group); A restarts under the same worker id
 * and fences its predecessor. Every task must have exactly one committed result.
 */
class WorkerCrashTest {
  private static final int TASKS = 1200;

  @Test
  void eachTaskHasExactlyOneCommittedResultAfterARebalanceAndACrash() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      WorkerTestKit.createTopics(broker, 4);
      List<TaskRequest> tasks = new ArrayList<>();
      for (int i = 0; i < TASKS; i++) {
        tasks.add(WorkerTestKit.task("c" + i, WorkerTestKit.png(i % 64, 12, 12)));
      }
      WorkerTestKit.produce(broker, tasks);

      MeanColourModelFactory slowish = new MeanColourModelFactory(Duration.ofMillis(15), new CountDownLatch(0));
      WorkerMain workerA = WorkerMain.start(settings(broker, "a"), slowish);
      awaitCommitted(workerA, 100);
      WorkerMain workerB = WorkerMain.start(settings(broker, "b"), slowish);
      awaitCommitted(workerA, 300);
      workerA.worker().crashDuringNextCommit();
      assertThat(workerA.worker().awaitTermination(WorkerTestKit.WAIT)).isTrue();
      long committedByA = workerA.metrics().tasksCommitted();
      assertThat(committedByA).isLessThan(TASKS);

      WorkerMain restartedA = WorkerMain.start(settings(broker, "a"), slowish);
      Set<String> expected = tasks.stream().map(TaskRequest::getTaskId).collect(Collectors.toSet());
      WorkerTestKit.awaitResults(broker, r -> r.stream().map(TaskResult::getTaskId).collect(Collectors.toSet()).equals(expected));
      restartedA.close();
      workerB.close();

      List<TaskResult> committed = WorkerTestKit.committedResults(broker);
      Map<String, Long> resultsPerTask = committed.stream().collect(Collectors.groupingBy(TaskResult::getTaskId, Collectors.counting()));
      assertThat(resultsPerTask.keySet()).isEqualTo(expected);
      assertThat(resultsPerTask.values()).allMatch(n -> n == 1);
      assertThat(committed).allMatch(r -> r.getFailure() == null);
      Map<String, Long> byWorker = committed.stream().collect(Collectors.groupingBy(TaskResult::getWorkerId, Collectors.counting()));
      assertThat(byWorker.keySet()).containsExactlyInAnyOrder("a", "b");
      // The crash left an open transaction whose results are in the log but were aborted.
      assertThat(WorkerTestKit.readAll(broker, Topics.RESULTS, "read_uncommitted").size()).isGreaterThan(TASKS);
      assertThat(WorkerTestKit.committedDeadLetters(broker)).isEmpty();
    }
  }

  private static WorkerSettings settings(EmbeddedKafkaBroker broker, String workerId) {
    return WorkerTestKit.settings(
        broker,
        Map.of(
            WorkerSettings.WORKER_ID.key(), workerId,
            WorkerSettings.BATCH_MAX_SIZE.key(), "8",
            WorkerSettings.MAX_IN_FLIGHT.key(), "64",
            WorkerSettings.SESSION_TIMEOUT_MS.key(), "6000"));
  }

  private static void awaitCommitted(WorkerMain worker, long count) throws InterruptedException {
    long deadline = System.nanoTime() + WorkerTestKit.WAIT.toNanos();
    while (worker.metrics().tasksCommitted() < count) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("worker committed only " + worker.metrics().tasksCommitted());
      }
      Thread.sleep(20);
    }
  }
}

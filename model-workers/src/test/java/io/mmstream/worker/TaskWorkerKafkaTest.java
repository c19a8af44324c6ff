package io.mmstream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.mmstream.image.ImageSettings;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.serde.MessageDecodeException;
import io.mmstream.topic.Topics;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The worker runtime against a real broker, with the {@link MeanColourModel} fixture where a test
 * needs a model that fails on a marked item, is slow, or holds its warm-up ({@link
 * RealModelWorkerTest} runs the real models). Each test gets its own broker because the worker's
 * topic names are fixed.
 */
class TaskWorkerKafkaTest {
  private EmbeddedKafkaBroker broker;

  @BeforeEach
  void startBroker() throws Exception {
    broker = EmbeddedKafkaBroker.start();
    WorkerTestKit.createTopics(broker, 3);
  }

  @AfterEach
  void stopBroker() {
    broker.close();
  }

  @Test
  void poisonTasksGoToTheDeadLetterTopicWhileTheirBatchMatesSucceed() throws Exception {
    Instant later = Instant.now().plus(Duration.ofHours(1));
    List<TaskRequest> good = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      good.add(WorkerTestKit.task("good-" + i, WorkerTestKit.png(100 + i, 32, 32)));
    }
    HttpServer imageServer = PoisonImages.serve(WorkerTestKit.png(200, 32, 32));
    good.add(ImageLoaderTest.uriTask(PoisonImages.uri(imageServer)));
    good.get(good.size() - 1).setTaskId("good-fetched");
    good.get(good.size() - 1).setContentHash("hash-good-fetched");
    Map<String, String> expectedReasons = new HashMap<>();
    Map<String, String> expectedStages = new HashMap<>();
    List<TaskRequest> poison = new ArrayList<>();
    poison.add(WorkerTestKit.task("corrupt", PoisonImages.corrupt()));
    expectedReasons.put("corrupt", "CORRUPT_IMAGE");
    poison.add(WorkerTestKit.task("truncated", PoisonImages.truncated()));
    expectedReasons.put("truncated", "CORRUPT_IMAGE");
    poison.add(WorkerTestKit.task("oversized", PoisonImages.oversized()));
    expectedReasons.put("oversized", "TOO_LARGE");
    poison.add(WorkerTestKit.task("pixel-bomb", PoisonImages.pixelBomb()));
    expectedReasons.put("pixel-bomb", "TOO_MANY_PIXELS");
    poison.add(uriTask("unreachable", PoisonImages.unreachableUri()));
    expectedReasons.put("unreachable", "FETCH_FAILED");
    expectedStages.put("unreachable", "fetch");
    poison.add(uriTask("private-address", PoisonImages.PRIVATE_URI));
    expectedReasons.put("private-address", "FORBIDDEN_ADDRESS");
    expectedStages.put("private-address", "fetch");
    poison.add(WorkerTestKit.task("model-crash", WorkerTestKit.png(9, 32, 32), List.of("explode"), later));
    expectedReasons.put("model-crash", "MODEL_ERROR");
    poison.add(WorkerTestKit.task("expired", WorkerTestKit.png(10, 32, 32), List.of("cat"), Instant.now().minusSeconds(5)));
    expectedReasons.put("expired", "DEADLINE_EXCEEDED");

    List<TaskRequest> all = new ArrayList<>(good);
    all.addAll(3, poison);
    Map<String, byte[]> records = new LinkedHashMap<>();
    all.forEach(t -> records.put(WorkerTestKit.key(t), WorkerTestKit.encode(t)));
    records.put("junk", "not avro".getBytes());
    WorkerTestKit.produceRaw(broker, ModelKind.CLIP, records);

    // One partition's worth of tasks within one long batching window: the good tasks and the model
    // crasher share a batch, so the crasher must be split out.
    WorkerSettings settings =
        WorkerTestKit.settings(
            broker,
            Map.of(
                WorkerSettings.BATCH_MAX_SIZE.key(), "16",
                WorkerSettings.BATCH_MAX_DELAY_MS.key(), "500",
                ImageSettings.MAX_INLINE_BYTES.key(), String.valueOf(64 * 1024),
                ImageSettings.FETCH_ALLOWED_CIDRS.key(), PoisonImages.LOOPBACK_CIDR,
                WorkerSettings.DEAD_LETTER_TASK_FAILURES.key(), "true"));
    List<TaskResult> results;
    double splits;
    try (WorkerMain worker = WorkerMain.start(settings, new MeanColourModelFactory())) {
      results = WorkerTestKit.awaitResults(broker, r -> r.size() >= all.size());
      awaitDeadLetters(expectedReasons.size() + 1);
      splits = worker.metrics().registry().find("mmstream.worker.batch.splits").counter().count();
      assertThat(worker.metrics().registry().find("mmstream.worker.dlq").tag("reason", "CORRUPT_IMAGE").counter().count())
          .isEqualTo(2);
    }

    imageServer.stop(0);
    Map<String, TaskResult> byTask = results.stream().collect(Collectors.toMap(TaskResult::getTaskId, Function.identity()));
    assertThat(byTask).hasSize(all.size());
    for (TaskRequest task : good) {
      assertThat(byTask.get(task.getTaskId()).getFailure()).as(task.getTaskId()).isNull();
      assertThat(byTask.get(task.getTaskId()).getOutputs().getEmbedding()).hasSize(3);
    }
    // Every result, failed or not, carries its request's key.
    Map<String, List<TaskResult>> byKey = WorkerTestKit.committedResultsByKey(broker);
    for (TaskRequest task : all) {
      assertThat(byKey.get(WorkerTestKit.key(task))).extracting(TaskResult::getTaskId).containsExactly(task.getTaskId());
    }
    expectedReasons.forEach((taskId, reason) -> assertThat(byTask.get(taskId).getFailure().getReasonCode()).as(taskId).isEqualTo(reason));
    // The failed result names its stage, so the stream app's one dead letter per cause can too.
    expectedStages.forEach((taskId, stage) -> assertThat(byTask.get(taskId).getFailure().getStage()).as(taskId).isEqualTo(stage));

    List<DeadLetter> letters = WorkerTestKit.committedDeadLetters(broker);
    Map<String, String> reasonByTask = new HashMap<>();
    String undecodableReason = null;
    for (DeadLetter letter : letters) {
      assertThat(letter.getOriginalTopic()).isEqualTo(Topics.TASKS_TAG);
      if (letter.getTaskId() == null) {
        undecodableReason = letter.getReasonCode();
        assertThat(new String(letter.getOriginalBytes().array())).isEqualTo("not avro");
        assertThat(new String(letter.getOriginalKey().array())).isEqualTo("junk");
      } else {
        reasonByTask.put(letter.getTaskId(), letter.getReasonCode());
        String stage = expectedStages.get(letter.getTaskId());
        if (stage != null) {
          assertThat(letter.getStage()).as(letter.getTaskId()).isEqualTo(stage);
        }
      }
    }
    assertThat(reasonByTask).isEqualTo(expectedReasons);
    assertThat(undecodableReason).isEqualTo(MessageDecodeException.BAD_HEADER);
    assertThat(splits).isGreaterThan(0);
  }

  @Test
  void pausesPartitionsAtTheInFlightBoundAndResumesWhenDrained() throws Exception {
    List<TaskRequest> tasks = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      tasks.add(WorkerTestKit.task("bp" + i, WorkerTestKit.png(i, 16, 16)));
    }
    WorkerTestKit.produce(broker, tasks);
    int maxInFlight = 16;
    int maxPollRecords = 8;
    WorkerSettings settings =
        WorkerTestKit.settings(
            broker,
            Map.of(
                WorkerSettings.MAX_IN_FLIGHT.key(), String.valueOf(maxInFlight),
                WorkerSettings.RESUME_THRESHOLD.key(), "4",
                WorkerSettings.MAX_POLL_RECORDS.key(), String.valueOf(maxPollRecords),
                WorkerSettings.BATCH_MAX_SIZE.key(), "4",
                WorkerSettings.BATCH_MAX_DELAY_MS.key(), "5"));
    List<Double> inFlightSamples = new ArrayList<>();
    List<Double> pausedSamples = new ArrayList<>();
    double pauses;
    try (WorkerMain worker = WorkerMain.start(settings, new MeanColourModelFactory(Duration.ofMillis(40), new CountDownLatch(0)))) {
      var registry = worker.metrics().registry();
      CompletableFuture<List<TaskResult>> done =
          CompletableFuture.supplyAsync(() -> {
            try {
              return WorkerTestKit.awaitResults(broker, r -> r.size() >= tasks.size());
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          });
      while (!done.isDone()) {
        inFlightSamples.add(registry.find("mmstream.worker.in.flight").gauge().value());
        pausedSamples.add(registry.find("mmstream.worker.paused.partitions").gauge().value());
        Thread.sleep(10);
      }
      assertThat(done.get()).hasSize(tasks.size());
      pauses = registry.find("mmstream.worker.pauses").counter().count();
      assertThat(registry.find("mmstream.worker.paused.partitions").gauge().value()).isZero();
    }
    assertThat(pauses).isGreaterThanOrEqualTo(1);
    assertThat(pausedSamples).contains(3.0);
    assertThat(inFlightSamples).allSatisfy(v -> assertThat(v).isLessThan(maxInFlight + maxPollRecords));
  }

  @Test
  void readyOnlyAfterWarmUpAndMetricsAreServed() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    CountDownLatch warmUpGate = new CountDownLatch(1);
    WorkerSettings settings = WorkerTestKit.settings(broker, Map.of(WorkerSettings.HTTP_PORT.key(), String.valueOf(port)));
    CompletableFuture<WorkerMain> starting =
        CompletableFuture.supplyAsync(() -> WorkerMain.start(settings, new MeanColourModelFactory(Duration.ZERO, warmUpGate)));
    HttpClient http = HttpClient.newHttpClient();
    int readyBeforeWarmUp = awaitStatus(http, port, "/health/ready");
    int liveBeforeWarmUp = status(http, port, "/health/live");
    warmUpGate.countDown();
    try (WorkerMain worker = starting.get()) {
      WorkerTestKit.produce(broker, List.of(WorkerTestKit.task("h1", WorkerTestKit.png(1, 20, 20))));
      WorkerTestKit.awaitResults(broker, r -> r.size() == 1);
      assertThat(readyBeforeWarmUp).isEqualTo(503);
      assertThat(liveBeforeWarmUp).isEqualTo(200);
      assertThat(status(http, port, "/health/ready")).isEqualTo(200);
      String metrics = http.send(request(port, "/metrics"), HttpResponse.BodyHandlers.ofString()).body();
      assertThat(metrics)
          .contains("mmstream_worker_batch_size_count{device=\"cpu\",kind=\"clip\",model=\"fixture-mean-colour\"}")
          .contains("mmstream_worker_tasks_total{device=\"cpu\",kind=\"clip\",model=\"fixture-mean-colour\",outcome=\"ok\"} 1.0")
          .contains("mmstream_worker_queue_wait_seconds_bucket")
          .contains("mmstream_worker_batch_compute_seconds_bucket")
          .contains("mmstream_worker_task_latency_seconds_bucket")
          .contains("mmstream_worker_in_flight")
          .contains("mmstream_worker_paused_partitions")
          .contains("mmstream_worker_items_per_second")
          .contains("mmstream_worker_ready{device=\"cpu\",kind=\"clip\",model=\"fixture-mean-colour\"} 1.0");
    }
  }

  private static TaskRequest uriTask(String taskId, String uri) {
    TaskRequest task = ImageLoaderTest.uriTask(uri);
    task.setTaskId(taskId);
    task.setContentHash("hash-" + taskId);
    return task;
  }

  private static HttpRequest request(int port, String path) {
    return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build();
  }

  private static int status(HttpClient http, int port, String path) throws Exception {
    return http.send(request(port, path), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** The status once the server answers at all. */
  private static int awaitStatus(HttpClient http, int port, String path) throws Exception {
    long deadline = System.nanoTime() + WorkerTestKit.WAIT.toNanos();
    while (true) {
      try {
        return status(http, port, path);
      } catch (java.net.ConnectException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }

  private void awaitDeadLetters(int count) throws InterruptedException {
    long deadline = System.nanoTime() + WorkerTestKit.WAIT.toNanos();
    while (WorkerTestKit.committedDeadLetters(broker).size() < count) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("dead letters did not arrive");
      }
      Thread.sleep(200);
    }
  }
}

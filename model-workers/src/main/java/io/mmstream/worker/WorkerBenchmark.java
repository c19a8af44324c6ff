package io.mmstream.worker;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.config.KafkaSettings;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageLimits;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.VqaTask;
import io.mmstream.serde.AvroSerde;
import io.mmstream.serde.AvroSerdes;
import io.mmstream.topic.Topics;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Measures a worker end to end (tasks produced to Kafka, results read back with read_committed)
 * against the same model called directly in-process at the same batch size, then latency at
 * fractions of the measured capacity with Poisson arrivals. "Directly" means load + decode +
 * preprocess + forward in a plain loop on one thread: the same work per image, without Kafka. The
 * two throughput figures are taken in alternating rounds, each path's total over all rounds.
 *
 * <p>The whole measurement is repeated, so the report carries its own noise: medians and the range
 * over the repeats. Each latency run also reports where the time went inside the worker (stage by
 * stage, {@link LatencyBreakdown}) and how much CPU other processes took meanwhile; a run during
 * which they took more than {@code maxOtherCores} marks the machine as too busy to judge the goal
 * (p99 at 80% load within the max delay plus two batch times).
 */
public final class WorkerBenchmark {

  public record Options(
      ModelKind kind,
      ModelSource source,
      int batch,
      int tasks,
      Duration loadDuration,
      List<Double> loads,
      int imageWidth,
      int imageHeight,
      int partitions,
      int rounds,
      int repeats,
      double maxOtherCores,
      Map<String, String> workerSettings) {}

  /** One stage's latency over a latency run's answered tasks, in milliseconds. */
  public record StageLatency(double meanMs, double p50Ms, double p99Ms) {
    static StageLatency of(Histogram microseconds) {
      return new StageLatency(
          microseconds.getMean() / 1000.0,
          microseconds.getValueAtPercentile(50) / 1000.0,
          microseconds.getValueAtPercentile(99) / 1000.0);
    }
  }

  /**
   * One latency run: percentiles from each task's scheduled arrival to its committed result read
   * back, the worker's stages, the cores other processes used meanwhile, and the share of the run
   * the device spent running batches: near 1 at a nominal 0.8 means the model ran slower than when
   * the capacity was measured (a busy machine), and the queue grew for that reason.
   */
  public record LoadLatency(
      double load,
      double offeredPerSecond,
      int tasks,
      double p50Ms,
      double p99Ms,
      double otherCores,
      double deviceUtilization,
      Map<String, StageLatency> stages) {}

  /**
   * One repeat: capacity on both paths, the model's own time for a full batch (forward pass only,
   * direct path), the cores other processes used during the capacity rounds, and the latency runs.
   */
  public record Run(
      double directItemsPerSecond, double endToEndItemsPerSecond, double batchMs, double otherCores, double loadAverage,
      List<LoadLatency> latency) {
    public double ratio() {
      return endToEndItemsPerSecond / directItemsPerSecond;
    }

    double maxOtherCores() {
      double max = otherCores;
      for (LoadLatency l : latency) {
        max = Math.max(max, l.otherCores());
      }
      return max;
    }
  }

  /** A median over the repeats with the smallest and largest value. */
  public record Spread(double median, double min, double max) {
    static Spread of(List<Double> values) {
      List<Double> sorted = values.stream().filter(v -> !v.isNaN()).sorted().toList();
      if (sorted.isEmpty()) {
        return new Spread(Double.NaN, Double.NaN, Double.NaN);
      }
      int n = sorted.size();
      double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
      return new Spread(median, sorted.get(0), sorted.get(n - 1));
    }

    ObjectNode toJson(ObjectNode node) {
      node.put("median", round3(median));
      node.put("min", round3(min));
      node.put("max", round3(max));
      return node;
    }
  }

  public record Report(int batch, long maxDelayMs, double maxOtherCores, List<Run> runs) {
    /** The load the latency goal is judged at. */
    public static final double GOAL_LOAD = 0.8;
    /** The ratio of end-to-end to direct throughput the worker should reach. */
    public static final double GOAL_RATIO = 0.95;

    public Spread ratio() {
      return spread(Run::ratio);
    }

    public Spread directItemsPerSecond() {
      return spread(Run::directItemsPerSecond);
    }

    public Spread endToEndItemsPerSecond() {
      return spread(Run::endToEndItemsPerSecond);
    }

    public Spread batchMs() {
      return spread(Run::batchMs);
    }

    public List<Double> loads() {
      return runs.get(0).latency().stream().map(LoadLatency::load).toList();
    }

    public Spread p50Ms(double load) {
      return spread(run -> at(run, load).p50Ms());
    }

    public Spread p99Ms(double load) {
      return spread(run -> at(run, load).p99Ms());
    }

    public Spread deviceUtilization(double load) {
      return spread(run -> at(run, load).deviceUtilization());
    }

    /** Median over the repeats of each stage's mean, p50 and p99 at {@code load}. */
    public Map<String, StageLatency> stages(double load) {
      Map<String, StageLatency> medians = new LinkedHashMap<>();
      for (String stage : at(runs.get(0), load).stages().keySet()) {
        medians.put(stage, new StageLatency(
            spread(run -> at(run, load).stages().get(stage).meanMs()).median(),
            spread(run -> at(run, load).stages().get(stage).p50Ms()).median(),
            spread(run -> at(run, load).stages().get(stage).p99Ms()).median()));
      }
      return medians;
    }

    /** The latency goal: the max delay plus twice the model's median time for a full batch. */
    public double goalP99Ms() {
      return maxDelayMs + 2 * batchMs().median();
    }

    /** Whether other processes took more than the allowed cores during any repeat. */
    public boolean machineBusy() {
      return runs.stream().anyMatch(run -> !(run.maxOtherCores() <= maxOtherCores));
    }

    /**
     * met or missed in every repeat, or busy: the machine was shared too much to tell either way (a
     * busy machine also slows the full batch the goal is measured against).
     */
    public String latencyVerdict() {
      if (!loads().contains(GOAL_LOAD)) {
        return "not measured";
      }
      if (machineBusy()) {
        return "busy";
      }
      return runs.stream().allMatch(run -> at(run, GOAL_LOAD).p99Ms() <= maxDelayMs + 2 * run.batchMs()) ? "met" : "missed";
    }

    public String ratioVerdict() {
      if (machineBusy()) {
        return "busy";
      }
      return runs.stream().allMatch(run -> run.ratio() >= GOAL_RATIO) ? "met" : "missed";
    }

    private Spread spread(java.util.function.ToDoubleFunction<Run> value) {
      return Spread.of(runs.stream().map(run -> value.applyAsDouble(run)).toList());
    }

    private static LoadLatency at(Run run, double load) {
      return run.latency().stream().filter(l -> l.load() == load).findFirst().orElseThrow();
    }

    /**
     * {"batch":B,"repeats":N,"direct_items_per_s":X,"end_to_end_items_per_s":Y,"ratio":R,"latency_ms":{"0.8":{"p50":..,"p99":..},..},
     * "spread":{..},"breakdown_ms":{..},"goal":{..},"runs":[..]}; the top-level figures are medians over the repeats.
     */
    public String toJson() {
      ObjectMapper mapper = new ObjectMapper();
      ObjectNode root = mapper.createObjectNode();
      root.put("batch", batch);
      root.put("repeats", runs.size());
      root.put("direct_items_per_s", round(directItemsPerSecond().median()));
      root.put("end_to_end_items_per_s", round(endToEndItemsPerSecond().median()));
      root.put("ratio", round3(ratio().median()));
      root.put("batch_ms", round(batchMs().median()));
      ObjectNode latencies = root.putObject("latency_ms");
      for (double load : loads()) {
        ObjectNode node = latencies.putObject(String.valueOf(load));
        node.put("p50", round(p50Ms(load).median()));
        node.put("p99", round(p99Ms(load).median()));
        node.put("device_utilization", round(deviceUtilization(load).median()));
      }
      ObjectNode spread = root.putObject("spread");
      ratio().toJson(spread.putObject("ratio"));
      directItemsPerSecond().toJson(spread.putObject("direct_items_per_s"));
      endToEndItemsPerSecond().toJson(spread.putObject("end_to_end_items_per_s"));
      batchMs().toJson(spread.putObject("batch_ms"));
      ObjectNode spreadLatency = spread.putObject("latency_ms");
      for (double load : loads()) {
        ObjectNode node = spreadLatency.putObject(String.valueOf(load));
        p50Ms(load).toJson(node.putObject("p50"));
        p99Ms(load).toJson(node.putObject("p99"));
      }
      ObjectNode breakdown = root.putObject("breakdown_ms");
      for (double load : loads()) {
        ObjectNode node = breakdown.putObject(String.valueOf(load));
        stages(load).forEach((stage, l) -> {
          ObjectNode s = node.putObject(stage);
          s.put("mean", round(l.meanMs()));
          if (!Double.isNaN(l.p99Ms())) {
            s.put("p50", round(l.p50Ms()));
            s.put("p99", round(l.p99Ms()));
          }
        });
      }
      ObjectNode goal = root.putObject("goal");
      goal.put("load", GOAL_LOAD);
      goal.put("p99_ms", round(goalP99Ms()));
      goal.put("latency", latencyVerdict());
      goal.put("ratio_min", GOAL_RATIO);
      goal.put("ratio", ratioVerdict());
      goal.put("max_other_cores", maxOtherCores);
      goal.put("machine_busy", machineBusy());
      ArrayNode runNodes = root.putArray("runs");
      for (Run run : runs) {
        ObjectNode node = runNodes.addObject();
        node.put("direct_items_per_s", round(run.directItemsPerSecond()));
        node.put("end_to_end_items_per_s", round(run.endToEndItemsPerSecond()));
        node.put("ratio", round3(run.ratio()));
        node.put("batch_ms", round(run.batchMs()));
        node.put("other_cores", round(run.otherCores()));
        node.put("load_average", round(run.loadAverage()));
        ObjectNode runLatency = node.putObject("latency_ms");
        for (LoadLatency l : run.latency()) {
          ObjectNode ln = runLatency.putObject(String.valueOf(l.load()));
          ln.put("p50", round(l.p50Ms()));
          ln.put("p99", round(l.p99Ms()));
          ln.put("other_cores", round(l.otherCores()));
          ln.put("device_utilization", round(l.deviceUtilization()));
        }
      }
      return root.toString();
    }

    /** The human-readable summary: medians with their range, the goal, and the stages at the goal load. */
    public List<String> summary() {
      List<String> lines = new ArrayList<>();
      lines.add(String.format(Locale.ROOT, "over %d repeats (median [min-max]): direct %s items/s, end to end %s items/s, ratio %s,"
          + " full batch %s ms", runs.size(), text(directItemsPerSecond(), 2), text(endToEndItemsPerSecond(), 2), text(ratio(), 3),
          text(batchMs(), 0)));
      for (double load : loads()) {
        lines.add(String.format(Locale.ROOT, "  load %.2f: p50 %s ms, p99 %s ms, device busy %s of the time", load, text(p50Ms(load), 0),
            text(p99Ms(load), 0), text(deviceUtilization(load), 2)));
      }
      if (loads().contains(GOAL_LOAD)) {
        lines.add(String.format(Locale.ROOT, "  where the time goes at load %.2f (median over repeats; mean / p50 / p99 ms):", GOAL_LOAD));
        stages(GOAL_LOAD).forEach((stage, l) -> lines.add(
            String.format(Locale.ROOT, "    %-18s %8.1f %8.1f %8.1f", stage, l.meanMs(), l.p50Ms(), l.p99Ms())));
      }
      double worstOther = runs.stream().mapToDouble(Run::maxOtherCores).max().orElse(Double.NaN);
      lines.add(String.format(Locale.ROOT,
          "goal: p99 at load %.2f <= max delay %d ms + 2 x full batch (%.0f ms median) in every repeat: %s; ratio >= %.2f in every"
              + " repeat: %s; other processes took up to %.2f cores (limit %.2f)%s",
          GOAL_LOAD, maxDelayMs, goalP99Ms(), latencyVerdict(), GOAL_RATIO, ratioVerdict(), worstOther, maxOtherCores,
          machineBusy() ? ": the machine was too busy for the goal to be judged" : ""));
      return lines;
    }

    private static String text(Spread spread, int decimals) {
      String f = "%." + decimals + "f";
      return String.format(Locale.ROOT, f + " [" + f + "-" + f + "]", spread.median(), spread.min(), spread.max());
    }
  }

  /** Batches run untimed before the first measurement, on both paths: the JIT needs about this many. */
  private static final int WARM_UP_BATCHES = 12;

  private final String bootstrapServers;
  private final TaskModelFactory factory;
  private final Options options;
  private final Consumer<String> log;
  private final List<byte[]> images = new ArrayList<>();
  private final AvroSerde<TaskRequest> requestSerde = AvroSerdes.standard().taskRequest();
  private final AvroSerde<TaskResult> resultSerde = AvroSerdes.standard().taskResult();

  public WorkerBenchmark(String bootstrapServers, TaskModelFactory factory, Options options, Consumer<String> log) {
    if (options.kind() == ModelKind.CHAT) {
      throw new IllegalArgumentException("the worker benchmark sends image tasks; the chat kind is not covered");
    }
    if (options.repeats() < 1 || options.rounds() < 1) {
      throw new IllegalArgumentException("need at least one repeat and one round");
    }
    this.bootstrapServers = bootstrapServers;
    this.factory = factory;
    this.options = options;
    this.log = log;
    Random random = new Random(42);
    for (int i = 0; i < 16; i++) {
      images.add(jpeg(random, options.imageWidth(), options.imageHeight()));
    }
  }

  public Report run() throws Exception {
    createTopics();
    Map<String, String> values = new HashMap<>(options.workerSettings());
    values.put(KafkaSettings.BOOTSTRAP_SERVERS.key(), bootstrapServers);
    values.put(WorkerSettings.KIND.key(), options.kind().id());
    ModelSource source = options.source();
    if (source.directory() != null) {
      values.put(WorkerSettings.MODEL_DIR.key(), source.directory().toString());
    } else {
      values.put(WorkerSettings.MODEL_PRESET.key(), source.preset());
      if (source.tokenizerDirectory() != null) {
        values.put(WorkerSettings.TOKENIZER_DIR.key(), source.tokenizerDirectory().toString());
      }
    }
    values.put(WorkerSettings.WORKER_ID.key(), "bench");
    values.put(WorkerSettings.BATCH_MAX_SIZE.key(), String.valueOf(options.batch()));
    values.put(WorkerSettings.HTTP_PORT.key(), "-1");
    WorkerSettings settings = WorkerSettings.from(Settings.of(values));
    try (DirectRunner direct = new DirectRunner();
        ResultWatcher results = new ResultWatcher();
        KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(Map.of("bootstrap.servers", bootstrapServers, "linger.ms", 2), new StringSerializer(), new ByteArraySerializer());
        WorkerMain worker = WorkerMain.start(settings, factory)) {
      List<String> warm = new ArrayList<>();
      for (int i = 0; i < WARM_UP_BATCHES * options.batch(); i++) {
        warm.add(send(producer, "warm-" + i));
      }
      results.await(warm, Duration.ofMinutes(10));
      List<Run> runs = new ArrayList<>();
      for (int repeat = 1; repeat <= options.repeats(); repeat++) {
        runs.add(measure(repeat, direct, results, producer, worker.metrics()));
      }
      return new Report(options.batch(), settings.batchMaxDelay().toMillis(), options.maxOtherCores(), runs);
    }
  }

  private Run measure(
      int repeat, DirectRunner direct, ResultWatcher results, KafkaProducer<String, byte[]> producer, WorkerMetrics metrics) {
    // The two paths alternate in rounds, so that load from other processes on a shared machine
    // falls on both about equally instead of on whichever ran during a busy spell.
    int perRound = Math.max(options.batch(), options.tasks() / options.rounds() / options.batch() * options.batch());
    long endToEndNanos = 0;
    long directNanos = 0;
    long forwardNanos = 0;
    int items = 0;
    double loadAverage = CpuShare.loadAverage();
    CpuShare.Sample before = CpuShare.sample();
    for (int round = 0; round < options.rounds(); round++) {
      List<String> ids = new ArrayList<>();
      long start = System.nanoTime();
      for (int i = 0; i < perRound; i++) {
        ids.add(send(producer, "capacity-" + repeat + "-" + round + "-" + i));
      }
      producer.flush();
      long roundNanos = results.await(ids, Duration.ofMinutes(30)) - start;
      DirectTiming roundDirect = direct.time(perRound / options.batch());
      endToEndNanos += roundNanos;
      directNanos += roundDirect.totalNanos();
      forwardNanos += roundDirect.forwardNanos();
      items += perRound;
      log.accept(String.format(Locale.ROOT, "repeat %d round %d: end to end %.2f items/s, direct %.2f items/s", repeat, round + 1,
          perRound * 1e9 / roundNanos, perRound * 1e9 / roundDirect.totalNanos()));
    }
    double otherCores = CpuShare.otherCores(before, CpuShare.sample());
    double endToEnd = items * 1e9 / endToEndNanos;
    double directRate = items * 1e9 / directNanos;
    double batchMs = forwardNanos / 1e6 / (items / options.batch());
    log.accept(String.format(Locale.ROOT,
        "repeat %d: end to end %.2f items/s, direct %.2f items/s at batch %d (ratio %.3f), full batch %.0f ms;"
            + " other processes %.2f cores, load average %.2f",
        repeat, endToEnd, directRate, options.batch(), endToEnd / directRate, batchMs, otherCores, loadAverage));
    List<LoadLatency> latencies = new ArrayList<>();
    for (double load : options.loads()) {
      latencies.add(measureLatency(repeat, producer, results, metrics, load, load * endToEnd));
    }
    return new Run(directRate, endToEnd, batchMs, otherCores, loadAverage, latencies);
  }

  private void createTopics() throws InterruptedException, ExecutionException {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
      for (NewTopic topic :
          List.of(
              new NewTopic(options.kind().taskTopic(), options.partitions(), (short) 1),
              new NewTopic(Topics.RESULTS, 1, (short) 1),
              new NewTopic(Topics.DLQ, 1, (short) 1))) {
        try {
          admin.createTopics(List.of(topic)).all().get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
    }
  }

  /**
   * The same model called directly, owned by one dedicated thread the way the worker's executor
   * thread owns its model, so both figures come from the same kind of thread. Loaded and warmed up
   * (with untimed batches, as the worker gets warm-up tasks) before anything is timed.
   */
  private final class DirectRunner implements AutoCloseable {
    private final ExecutorService thread =
        Executors.newSingleThreadExecutor(r -> new Thread(r, "mmstream-bench-direct"));
    private final TaskModel<?> model;

    DirectRunner() throws InterruptedException, ExecutionException {
      model = thread.submit(() -> {
        TaskModel<?> loaded = (TaskModel<?>) factory.load(options.kind(), options.source(), Device.cpu(), false, Settings.empty());
        loaded.warmUp(options.batch());
        runDirect(loaded, WARM_UP_BATCHES);
        return loaded;
      }).get();
    }

    /** Runs {@code batches} batches of load + decode + preprocess + forward. */
    DirectTiming time(int batches) {
      try {
        return thread.submit(() -> {
          long start = System.nanoTime();
          long forward = runDirect(model, batches);
          return new DirectTiming(System.nanoTime() - start, forward);
        }).get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("the direct path failed", e.getCause());
      }
    }

    @Override
    public void close() throws InterruptedException, ExecutionException {
      thread.submit(model::close).get();
      thread.shutdown();
    }
  }

  /** The direct path's time for some batches, in all and in the forward pass alone. */
  private record DirectTiming(long totalNanos, long forwardNanos) {}

  /** Runs the batches; returns the nanoseconds spent in the forward pass. */
  private <P> long runDirect(TaskModel<P> model, int batches) throws TaskRejectedException {
    ImageLoader loader = new ImageLoader(ImageLimits.defaults());
    long forward = 0;
    for (int b = 0; b < batches; b++) {
      List<P> inputs = new ArrayList<>();
      for (int i = 0; i < options.batch(); i++) {
        TaskRequest request = request("direct-" + b + "-" + i, b * options.batch() + i);
        inputs.add(model.prepare(request, loader.load(request)));
      }
      long start = System.nanoTime();
      int outputs = model.runBatch(inputs).size();
      forward += System.nanoTime() - start;
      if (outputs != inputs.size()) {
        throw new IllegalStateException("model returned the wrong number of outputs");
      }
    }
    return forward;
  }

  private LoadLatency measureLatency(
      int repeat, KafkaProducer<String, byte[]> producer, ResultWatcher results, WorkerMetrics metrics, double load, double rate) {
    LatencyBreakdown breakdown = metrics.latencyBreakdown();
    breakdown.snapshotAndReset();
    CpuShare.Sample before = CpuShare.sample();
    double deviceBusyBefore = metrics.deviceBusySeconds();
    int count = Math.max(1, (int) Math.round(rate * options.loadDuration().toNanos() / 1e9));
    Random random = new Random(7);
    Map<String, Long> intended = new ConcurrentHashMap<>();
    List<String> ids = new ArrayList<>();
    long next = System.nanoTime();
    for (int i = 0; i < count; i++) {
      next += (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
      long wait;
      while ((wait = next - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      String id = send(producer, "load-" + repeat + "-" + load + "-" + i);
      // Latency counts from the scheduled arrival, so a late send does not hide queueing.
      intended.put(id, next);
      ids.add(id);
    }
    results.await(ids, Duration.ofMinutes(30));
    CpuShare.Sample after = CpuShare.sample();
    double otherCores = CpuShare.otherCores(before, after);
    double utilization = (metrics.deviceBusySeconds() - deviceBusyBefore) / ((after.wallNanos() - before.wallNanos()) / 1e9);
    Histogram histogram = new Histogram(3);
    for (String id : ids) {
      histogram.recordValue(Math.max(0, (results.arrival(id) - intended.get(id)) / 1000));
    }
    Map<String, StageLatency> stages = new LinkedHashMap<>();
    Map<LatencyBreakdown.Stage, Histogram> worker = breakdown.snapshotAndReset();
    worker.forEach((stage, h) -> stages.put(stage.label(), StageLatency.of(h)));
    // What neither the worker nor its stages see: a late send, and reading the committed result back.
    double outsideMs = histogram.getMean() / 1000.0
        - worker.get(LatencyBreakdown.Stage.FETCH).getMean() / 1000.0
        - worker.get(LatencyBreakdown.Stage.WORKER_TOTAL).getMean() / 1000.0;
    stages.put("send_and_read_back", new StageLatency(outsideMs, Double.NaN, Double.NaN));
    stages.put("end_to_end", StageLatency.of(histogram));
    LoadLatency latency = new LoadLatency(
        load, rate, count, histogram.getValueAtPercentile(50) / 1000.0, histogram.getValueAtPercentile(99) / 1000.0, otherCores, utilization,
        stages);
    log.accept(String.format(Locale.ROOT,
        "repeat %d load %.2f (%.2f tasks/s, %d tasks): p50 %.1f ms, p99 %.1f ms; device busy %.2f of the time; other processes"
            + " %.2f cores; stage means ms: %s",
        repeat, load, rate, count, latency.p50Ms(), latency.p99Ms(), utilization, otherCores, means(stages)));
    return latency;
  }

  private static String means(Map<String, StageLatency> stages) {
    StringBuilder text = new StringBuilder();
    stages.forEach((stage, l) -> text.append(text.length() == 0 ? "" : ", ").append(stage).append(' ')
        .append(String.format(Locale.ROOT, "%.1f", l.meanMs())));
    return text.toString();
  }

  private static double round(double value) {
    return Math.round(value * 100) / 100.0;
  }

  private static double round3(double value) {
    return Math.round(value * 1000) / 1000.0;
  }

  private String send(KafkaProducer<String, byte[]> producer, String taskId) {
    TaskRequest request = request(taskId, taskId.hashCode());
    producer.send(new ProducerRecord<>(options.kind().taskTopic(), taskId, requestSerde.encode(request)));
    return taskId;
  }

  private TaskRequest request(String taskId, int imageIndex) {
    TaskRequest.Builder builder =
        TaskRequest.newBuilder()
            .setTaskId(taskId)
            .setEventId("event-" + taskId)
            .setImageId("image-" + taskId)
            .setTenant("bench")
            .setTask(options.kind().taskType())
            .setSource(new InlineImage(ByteBuffer.wrap(images.get(Math.floorMod(imageIndex, images.size())))))
            .setContentType("image/jpeg")
            .setContentHash(Integer.toHexString(imageIndex))
            .setEventTime(Instant.now())
            .setDeadline(Instant.now().plus(Duration.ofHours(1)));
    switch (options.kind()) {
      case CLIP -> builder.setTag(TagTask.newBuilder().setLabels(List.of("cat", "dog", "car", "landscape")).build());
      case CAPTION -> builder.setCaption(new CaptionTask(null));
      case VQA, INSTRUCT -> builder.setVqa(VqaTask.newBuilder().setQuestions(List.of("what is in the picture?")).build());
    }
    return builder.build();
  }

  /** Smooth colour gradients plus noise: compresses like a photo, unlike pure noise. */
  private static byte[] jpeg(Random random, int width, int height) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    int r0 = random.nextInt(256);
    int g0 = random.nextInt(256);
    int b0 = random.nextInt(256);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int r = (r0 + x * 255 / width + random.nextInt(16)) & 0xFF;
        int g = (g0 + y * 255 / height + random.nextInt(16)) & 0xFF;
        int b = (b0 + (x + y) * 128 / (width + height) + random.nextInt(16)) & 0xFF;
        image.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "jpeg", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Reads committed results from the end of the topic and records when each task's result arrived. */
  private final class ResultWatcher implements AutoCloseable {
    private final Map<String, Long> arrivals = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stop;
    private volatile RuntimeException failure;

    ResultWatcher() {
      KafkaConsumer<byte[], byte[]> consumer =
          new KafkaConsumer<>(
              Map.of("bootstrap.servers", bootstrapServers, "isolation.level", "read_committed", "enable.auto.commit", "false"),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      List<TopicPartition> partitions = new ArrayList<>();
      consumer.partitionsFor(Topics.RESULTS).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      partitions.forEach(consumer::position);
      thread = new Thread(() -> watch(consumer), "mmstream-bench-results");
      thread.setDaemon(true);
      thread.start();
    }

    private void watch(KafkaConsumer<byte[], byte[]> consumer) {
      try (consumer) {
        while (!stop) {
          for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(5))) {
            long now = System.nanoTime();
            TaskResult result = resultSerde.decode(record.value());
            if (result.getFailure() != null) {
              failure = new IllegalStateException("task " + result.getTaskId() + " failed: " + result.getFailure());
            }
            arrivals.putIfAbsent(result.getTaskId(), now);
          }
        }
      } catch (RuntimeException e) {
        failure = e;
      }
    }

    /** Waits for every id's result; returns the latest arrival time. */
    long await(List<String> ids, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      long latest = 0;
      for (String id : ids) {
        Long arrival;
        while ((arrival = arrivals.get(id)) == null) {
          if (failure != null) {
            throw failure;
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("no result for " + id + " within " + timeout);
          }
          LockSupport.parkNanos(1_000_000);
        }
        latest = Math.max(latest, arrival);
      }
      return latest;
    }

    long arrival(String id) {
      return arrivals.get(id);
    }

    @Override
    public void close() {
      stop = true;
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}

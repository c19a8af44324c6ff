package io.mmstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.kafka.embedded.EmbeddedKafkaBroker;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.ModelSource;
import io.mmstream.worker.TaskModelFactory;
import io.mmstream.worker.WorkerBenchmark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream bench worker}: images/s through Kafka, the worker and back, against the same
 * model called in-process at the same batch size; then p50/p99 latency at 50%, 80% and 95% of the
 * measured capacity with Poisson arrivals, with where the time went inside the worker. Repeated,
 * reporting medians and ranges, and whether the machine was too busy to judge the latency goal.
 * Runs on an embedded broker unless one is given.
 */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = "Worker throughput (end to end vs direct) and latency under Poisson load.")
public final class BenchWorkerCommand implements Callable<Integer> {

  @Option(names = "--model-kind", defaultValue = "clip", description = "clip | caption | vqa (default: ${DEFAULT-VALUE})")
  String modelKind;

  @Option(names = "--preset", defaultValue = "vit-b-32",
      description = "random-weight preset: vit-b-32 or vit-l-14 (clip), blip-base (caption, vqa) (default: ${DEFAULT-VALUE})")
  String preset;

  @Option(names = "--tokenizer", description = "tokenizer files for the preset (default: fixtures/clip/tokenizer for clip,"
      + " fixtures/blip/blip-tiny-caption otherwise, relative to the working directory)")
  Path tokenizerDir;

  @Option(names = "--model", description = "checkpoint directory instead of a preset")
  Path modelDir;

  @Option(names = "--batch", defaultValue = "8", description = "batch size (default: ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--tasks", defaultValue = "160", description = "tasks in the capacity run (default: ${DEFAULT-VALUE})")
  int tasks;

  @Option(names = "--rounds", defaultValue = "4",
      description = "alternating end-to-end / direct rounds the capacity tasks are split into (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--repeats", defaultValue = "3",
      description = "times the whole measurement is repeated; medians and ranges are reported (default: ${DEFAULT-VALUE})")
  int repeats;

  @Option(names = "--max-other-cores", defaultValue = "0.25",
      description = "cores other processes may take during a run before the machine counts as too busy to judge the goal"
          + " (default: ${DEFAULT-VALUE})")
  double maxOtherCores;

  @Option(names = "--load-seconds", defaultValue = "20", description = "duration of each latency run (default: ${DEFAULT-VALUE})")
  int loadSeconds;

  @Option(names = "--image-size", defaultValue = "640x480", description = "JPEG size WxH (default: ${DEFAULT-VALUE})")
  String imageSize;

  @Option(names = {"-s", "--set"}, description = "a worker setting, e.g. -s mmstream.worker.decode-threads=1")
  Map<String, String> workerSettings = new LinkedHashMap<>();

  @Option(names = "--bootstrap-servers", description = "use this broker instead of an embedded one")
  String bootstrapServers;

  @Mixin
  BenchSupport.Options common;

  private Path presetTokenizer(ModelKind kind) {
    if (tokenizerDir != null) {
      return tokenizerDir;
    }
    return Path.of(kind == ModelKind.CLIP ? "fixtures/clip/tokenizer" : "fixtures/blip/blip-tiny-caption");
  }

  @Override
  public Integer call() throws Exception {
    ModelKind kind = ModelKind.parse(modelKind);
    String[] size = imageSize.toLowerCase(Locale.ROOT).split("x");
    WorkerBenchmark.Options options =
        new WorkerBenchmark.Options(
            kind,
            modelDir != null ? ModelSource.directory(modelDir) : ModelSource.preset(preset, presetTokenizer(kind)),
            batch,
            tasks,
            Duration.ofSeconds(loadSeconds),
            List.of(0.5, 0.8, 0.95),
            Integer.parseInt(size[0]),
            Integer.parseInt(size[1]),
            4,
            rounds,
            repeats,
            maxOtherCores,
            workerSettings);
    BenchSupport.startEngine(common);
    TaskModelFactory factory = TaskModelFactory.forKind(kind);
    WorkerBenchmark.Report report;
    if (bootstrapServers != null) {
      report = new WorkerBenchmark(bootstrapServers, factory, options, System.out::println).run();
    } else {
      try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
        report = new WorkerBenchmark(broker.bootstrapServers(), factory, options, System.out::println).run();
      }
    }
    System.out.printf(Locale.ROOT, "%s worker, batch %d, intra-op threads: %s%n", kind.id(), report.batch(), common.threadsLabel());
    report.summary().forEach(System.out::println);
    if (common.json) {
      ObjectNode json = (ObjectNode) new ObjectMapper().readTree(report.toJson());
      json.put("intra_op_threads", common.threadsLabel());
      System.out.println(json);
    }
    return 0;
  }
}

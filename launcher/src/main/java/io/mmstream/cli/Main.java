package io.mmstream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/mmstream}: the one entry point for people (demo, publish, tail, model commands, benchmarks). */
@Command(
    name = "mmstream",
    mixinStandardHelpOptions = true,
    version = "mmstream 0.1.0",
    description = "Streaming multimodal enrichment on Apache Kafka.",
    subcommands = {CommandLine.HelpCommand.class, DemoCommand.class, StreamAppCommand.class, WorkerCommand.class, PublishCommand.class,
        TailCommand.class, ClipCommand.class, CaptionCommand.class, VqaCommand.class, InstructCommand.class,
        GenerateCommand.class, ChatCommand.class, TrainDemoCommand.class, EvalDemoCommand.class, DemoSamplesCommand.class,
        BenchCommand.class, SchemasCommand.class})
public final class Main implements Runnable {

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  public static void main(String[] args) {
    System.setProperty("ai.djl.offline", "true");
    int code = new CommandLine(new Main()).execute(args);
    System.exit(code);
  }
}

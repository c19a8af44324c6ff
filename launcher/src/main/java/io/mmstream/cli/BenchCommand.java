package io.mmstream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/mmstream bench ...}: benchmarks that print numbers (with --json, one JSON object last). */
@Command(
    name = "bench",
    description = "Benchmarks (stream, clip, blip, worker, instruct, blip2, chat).",
    subcommands = {BenchStreamCommand.class, BenchBlipCommand.class, BenchInstructCommand.class, BenchBlip2Command.class, BenchWorkerCommand.class, BenchClipCommand.class,
        BenchChatCommand.class})
public final class BenchCommand implements Runnable {
  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}

package io.mmstream.cli;

import io.mmstream.serde.PublishedSchemas;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/mmstream schemas}: writes the language-neutral .avsc files and fingerprints.json (schemas/avsc). */
@Command(name = "schemas", mixinStandardHelpOptions = true,
    description = "Write every record's current schema as language-neutral .avsc, plus fingerprints.json.")
public final class SchemasCommand implements Callable<Integer> {

  @Option(names = "--out", defaultValue = "schemas/avsc", description = "Directory to write (default: ${DEFAULT-VALUE}).")
  Path out;

  @Override
  public Integer call() {
    PublishedSchemas.write(out);
    System.out.println("wrote " + PublishedSchemas.files().size() + " files to " + out);
    return 0;
  }
}

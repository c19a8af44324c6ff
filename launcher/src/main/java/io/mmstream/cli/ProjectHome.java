package io.mmstream.cli;

import java.nio.file.Path;

/** The project checkout bin/mmstream runs from: samples, demo config and the shipped models live there. */
final class ProjectHome {
  private ProjectHome() {}

  static Path path() {
    return Path.of(System.getProperty("mmstream.home", ".")).toAbsolutePath().normalize();
  }
}

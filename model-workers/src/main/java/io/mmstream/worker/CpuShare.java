package io.mmstream.worker;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much CPU other processes took while a benchmark ran: the machine's busy time from
 * {@code /proc/stat} (steal included: a hypervisor's other guests take CPU as well) minus this
 * process's own CPU time, in cores. A benchmark on a shared machine reports it so that a figure
 * taken while others held the cores is not read as the worker's own.
 */
final class CpuShare {
  /** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every mainstream architecture. */
  private static final double TICKS_PER_SECOND = 100;

  /** One reading; {@code machineBusyTicks} is negative where /proc/stat cannot be read. */
  record Sample(long wallNanos, long machineBusyTicks, long ownCpuNanos) {}

  private CpuShare() {}

  static Sample sample() {
    long own = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime()
        : -1;
    return new Sample(System.nanoTime(), machineBusyTicks(), own);
  }

  /** Cores other processes used on average between two samples; NaN where that cannot be told. */
  static double otherCores(Sample from, Sample to) {
    if (from.machineBusyTicks() < 0 || to.machineBusyTicks() < 0 || from.ownCpuNanos() < 0 || to.ownCpuNanos() < 0) {
      return Double.NaN;
    }
    double wall = (to.wallNanos() - from.wallNanos()) / 1e9;
    double machine = (to.machineBusyTicks() - from.machineBusyTicks()) / TICKS_PER_SECOND;
    double own = (to.ownCpuNanos() - from.ownCpuNanos()) / 1e9;
    return wall <= 0 ? Double.NaN : Math.max(0, (machine - own) / wall);
  }

  /** The 1-minute load average, or NaN. */
  static double loadAverage() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  private static long machineBusyTicks() {
    try {
      // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is counted in user)
      String[] fields = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long busy = 0;
      for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
        busy += Long.parseLong(fields[i]);
      }
      return busy;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}

package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * Prefill and decode rates of a language model, timed the way every model benchmark times them: per iteration, one
 * generation of a single token (the prefill) and one of {@code newTokens} tokens; the first iteration warms up and
 * is not counted; the decode step is what the longer generation took beyond the prefill, per extra token.
 *
 * @param prefillTokens positions the prefill processes, all rows together
 * @param rows sequences generated side by side (a decode step makes one token per row)
 */
record DecodeTiming(int prefillTokens, int rows, int newTokens, double prefillSeconds, double generateSeconds) {

  /**
   * Times {@code iterations} counted runs (plus one warm-up). {@code inputs} makes one iteration's inputs in the
   * given sub-manager and returns what generates that many new tokens from them.
   */
  static DecodeTiming measure(NDManager manager, int iterations, int prefillTokens, int rows, int newTokens,
      Function<NDManager, IntConsumer> inputs) {
    double prefillSeconds = 0;
    double generateSeconds = 0;
    for (int i = 0; i <= iterations; i++) {
      try (NDManager call = manager.newSubManager()) {
        IntConsumer generate = inputs.apply(call);
        long start = System.nanoTime();
        generate.accept(1);
        double prefill = BenchSupport.seconds(start);
        start = System.nanoTime();
        generate.accept(newTokens);
        double all = BenchSupport.seconds(start);
        if (i > 0) {
          prefillSeconds += prefill;
          generateSeconds += all;
        }
      }
    }
    return new DecodeTiming(prefillTokens, rows, newTokens, prefillSeconds / iterations, generateSeconds / iterations);
  }

  double prefillTokensPerSecond() {
    return prefillTokens / prefillSeconds;
  }

  double decodeSecondsPerStep() {
    return Math.max(generateSeconds - prefillSeconds, 0) / (newTokens - 1);
  }

  double decodeTokensPerSecond() {
    return rows / decodeSecondsPerStep();
  }

  /** The printed figures: prefill tokens, time and rate, then the decode step and rate. */
  String summary() {
    return String.format(Locale.ROOT, "prefill %d tokens %7.3f s (%8.1f tokens/s)  decode %7.1f ms/step (%7.2f tokens/s)",
        prefillTokens, prefillSeconds, prefillTokensPerSecond(), decodeSecondsPerStep() * 1e3, decodeTokensPerSecond());
  }

  /** Adds the JSON fields every benchmark reports for the language model. */
  void putInto(ObjectNode r) {
    r.put("prefill_tokens", prefillTokens);
    r.put("prefill_s", prefillSeconds);
    r.put("prefill_tokens_per_s", prefillTokensPerSecond());
    r.put("decode_ms_per_step", decodeSecondsPerStep() * 1e3);
    r.put("decode_tokens_per_s", decodeTokensPerSecond());
  }
}

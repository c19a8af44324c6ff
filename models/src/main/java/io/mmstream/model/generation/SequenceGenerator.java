package io.mmstream.model.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Greedy and beam search over an {@link IncrementalDecoder}, following transformers 4.15 (what the
 * original BLIP code calls): processors act on raw logits in greedy search and on log-probabilities
 * in beam search; every row stops on its own at the stop token and is padded afterwards.
 */
public final class SequenceGenerator {
  /** Score of the not-yet-distinct beams at the start, so that only beam 0 is expanded first. */
  private static final float INACTIVE_BEAM_SCORE = -1e9f;

  private SequenceGenerator() {}

  /**
   * @param prompts {@code [batch][promptLength]}, all rows the same length; rows may be empty when the
   *     decoder holds a prefix of its own (input embeddings), and lengths then count generated tokens only
   * @param recordLogits also return the raw logits of every generated step
   */
  public static GenerationResult generate(
      IncrementalDecoder decoder, long[][] prompts, GenerationConfig config, boolean recordLogits) {
    return generate(decoder, prompts, config, recordLogits, List.of());
  }

  /**
   * As above, where a row also finishes once its generated tokens end with one of {@code stopSequences} (a stop
   * string as token ids, like the original chat code's {@code StoppingCriteria}); the stop tokens stay in the row.
   * Beam search stops on the stop token only.
   */
  public static GenerationResult generate(IncrementalDecoder decoder, long[][] prompts, GenerationConfig config,
      boolean recordLogits, List<long[]> stopSequences) {
    if (prompts.length == 0) {
      return new GenerationResult(new long[0][], recordLogits ? new float[0][][] : null);
    }
    int promptLength = prompts[0].length;
    for (long[] p : prompts) {
      if (p.length != promptLength) {
        throw new IllegalArgumentException("prompts must be of equal length");
      }
    }
    return config.numBeams() == 1
        ? greedy(decoder, prompts, config, recordLogits, stopSequences)
        : beam(decoder, prompts, config, recordLogits);
  }

  static GenerationResult greedy(
      IncrementalDecoder decoder, long[][] prompts, GenerationConfig config, boolean recordLogits) {
    return greedy(decoder, prompts, config, recordLogits, List.of());
  }

  static GenerationResult greedy(IncrementalDecoder decoder, long[][] prompts, GenerationConfig config,
      boolean recordLogits, List<long[]> stopSequences) {
    int promptLength = prompts[0].length;
    int rows = prompts.length;
    long[][] sequences = copy(prompts);
    List<List<float[]>> steps = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      steps.add(new ArrayList<>());
    }
    boolean[] finished = new boolean[rows];
    int length = prompts[0].length;
    if (length >= config.maxLength()) {
      return new GenerationResult(sequences, recordLogits ? toArrays(steps) : null);
    }
    NDArray logits = decoder.append(prompts);
    while (true) {
      long[] next;
      try (NDManager step = logits.getManager().newSubManager()) {
        logits.attach(step);
        if (recordLogits) {
          float[] flat = logits.toFloatArray();
          int vocab = flat.length / rows;
          for (int r = 0; r < rows; r++) {
            steps.get(r).add(Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab));
          }
        }
        next = LogitsProcessing.apply(logits, sequences, length, config).argMax(1).toLongArray();
      }
      boolean allFinished = true;
      long[][] fed = new long[rows][1];
      for (int r = 0; r < rows; r++) {
        boolean wasFinished = finished[r];
        long token = wasFinished ? config.padTokenId() : next[r];
        sequences[r] = append(sequences[r], token);
        finished[r] |= token == config.stopTokenId()
            || (!wasFinished && endsWithAny(sequences[r], promptLength, stopSequences));
        allFinished &= finished[r];
        fed[r][0] = token;
      }
      length++;
      if (allFinished || length >= config.maxLength()) {
        break;
      }
      logits = decoder.append(fed);
    }
    return new GenerationResult(sequences, recordLogits ? toArrays(steps) : null);
  }

  static GenerationResult beam(
      IncrementalDecoder decoder, long[][] prompts, GenerationConfig config, boolean recordLogits) {
    int batch = prompts.length;
    int beams = config.numBeams();
    int rows = batch * beams;
    long[] expand = new long[rows];
    long[][] sequences = new long[rows][];
    float[] beamScores = new float[rows];
    for (int r = 0; r < rows; r++) {
      expand[r] = r / beams;
      sequences[r] = prompts[r / beams].clone();
      beamScores[r] = r % beams == 0 ? 0f : INACTIVE_BEAM_SCORE;
    }
    decoder.selectRows(expand);
    BeamHypotheses[] hypotheses = new BeamHypotheses[batch];
    for (int b = 0; b < batch; b++) {
      hypotheses[b] = new BeamHypotheses(beams, config.lengthPenalty());
    }
    boolean[] done = new boolean[batch];
    // For the logits of the returned hypothesis: raw logits per step, and which row each row came from.
    List<float[][]> stepLogits = new ArrayList<>();
    List<int[]> parents = new ArrayList<>();
    int length = prompts[0].length;
    if (length >= config.maxLength()) {
      return new GenerationResult(copy(prompts), recordLogits ? new float[batch][0][] : null);
    }
    NDArray logits = decoder.append(sequences);
    while (true) {
      int vocab = (int) logits.getShape().get(1);
      float[] topScores;
      long[] topIndices;
      try (NDManager step = logits.getManager().newSubManager()) {
        logits.attach(step);
        if (recordLogits) {
          float[] flat = logits.toFloatArray();
          float[][] perRow = new float[rows][];
          for (int r = 0; r < rows; r++) {
            perRow[r] = Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
          }
          stepLogits.add(perRow);
        }
        NDArray scores = LogitsProcessing.apply(logits.logSoftmax(1), sequences, length, config);
        scores = scores.add(step.create(beamScores).reshape(rows, 1)).reshape(batch, (long) beams * vocab);
        NDList top = scores.topK(2 * beams, 1, true, true);
        topScores = top.get(0).toFloatArray();
        topIndices = top.get(1).toLongArray();
      }
      int[] nextRows = new int[rows];
      long[] nextTokens = new long[rows];
      float[] nextScores = new float[rows];
      for (int b = 0; b < batch; b++) {
        if (done[b]) {
          for (int i = 0; i < beams; i++) {
            nextRows[b * beams + i] = b * beams;
            nextTokens[b * beams + i] = config.padTokenId();
            nextScores[b * beams + i] = 0f;
          }
          continue;
        }
        int kept = 0;
        for (int rank = 0; rank < 2 * beams && kept < beams; rank++) {
          int at = b * 2 * beams + rank;
          long token = topIndices[at] % vocab;
          int row = b * beams + (int) (topIndices[at] / vocab);
          if (token == config.stopTokenId()) {
            // A stop token ranked below the beam width is not a candidate hypothesis.
            if (rank < beams) {
              hypotheses[b].add(sequences[row], topScores[at], stepLogits.size() - 1, row);
            }
          } else {
            nextRows[b * beams + kept] = row;
            nextTokens[b * beams + kept] = token;
            nextScores[b * beams + kept] = topScores[at];
            kept++;
          }
        }
        done[b] = hypotheses[b].isDone(topScores[b * 2 * beams], length);
      }
      long[][] nextSequences = new long[rows][];
      long[] selected = new long[rows];
      for (int r = 0; r < rows; r++) {
        nextSequences[r] = append(sequences[nextRows[r]], nextTokens[r]);
        selected[r] = nextRows[r];
      }
      sequences = nextSequences;
      beamScores = nextScores;
      parents.add(nextRows);
      length++;
      boolean allDone = true;
      for (boolean d : done) {
        allDone &= d;
      }
      if (allDone || length >= config.maxLength()) {
        break;
      }
      decoder.selectRows(selected);
      long[][] fed = new long[rows][1];
      for (int r = 0; r < rows; r++) {
        fed[r][0] = nextTokens[r];
      }
      logits = decoder.append(fed);
    }
    int lastStep = parents.size() - 1;
    for (int b = 0; b < batch; b++) {
      if (!done[b]) {
        for (int i = 0; i < beams; i++) {
          int r = b * beams + i;
          hypotheses[b].add(sequences[r], beamScores[r], lastStep, parents.get(lastStep)[r]);
        }
      }
    }
    long[][] best = new long[batch][];
    float[][][] bestLogits = recordLogits ? new float[batch][][] : null;
    int longest = 0;
    for (int b = 0; b < batch; b++) {
      BeamHypotheses.Hypothesis h = hypotheses[b].best();
      // A hypothesis that ended on the stop token gets it back (hypotheses are stored without it).
      best[b] = h.tokens().length < config.maxLength() ? append(h.tokens(), config.stopTokenId()) : h.tokens();
      longest = Math.max(longest, best[b].length);
      if (recordLogits) {
        bestLogits[b] = trace(stepLogits, parents, h.step(), h.row());
      }
    }
    for (int b = 0; b < batch; b++) {
      best[b] = padTo(best[b], longest, config.padTokenId());
    }
    return new GenerationResult(best, bestLogits);
  }

  /** Logits along the path that ends with a token chosen at {@code step} from {@code row}. */
  private static float[][] trace(List<float[][]> stepLogits, List<int[]> parents, int step, int row) {
    float[][] out = new float[step + 1][];
    int r = row;
    for (int s = step; s >= 0; s--) {
      out[s] = stepLogits.get(s)[r];
      if (s > 0) {
        r = parents.get(s - 1)[r];
      }
    }
    return out;
  }

  /** Whether the tokens after {@code promptLength} end with one of {@code stops}. */
  private static boolean endsWithAny(long[] sequence, int promptLength, List<long[]> stops) {
    for (long[] stop : stops) {
      int from = sequence.length - stop.length;
      if (stop.length > 0 && from >= promptLength
          && Arrays.equals(sequence, from, sequence.length, stop, 0, stop.length)) {
        return true;
      }
    }
    return false;
  }

  private static long[] append(long[] sequence, long token) {
    long[] out = Arrays.copyOf(sequence, sequence.length + 1);
    out[sequence.length] = token;
    return out;
  }

  private static long[] padTo(long[] sequence, int length, long pad) {
    long[] out = Arrays.copyOf(sequence, length);
    Arrays.fill(out, sequence.length, length, pad);
    return out;
  }

  private static long[][] copy(long[][] rows) {
    long[][] out = new long[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      out[i] = rows[i].clone();
    }
    return out;
  }

  private static float[][][] toArrays(List<List<float[]>> steps) {
    float[][][] out = new float[steps.size()][][];
    for (int r = 0; r < out.length; r++) {
      out[r] = steps.get(r).toArray(new float[0][]);
    }
    return out;
  }
}

package io.mmstream.model.generation;

import static io.mmstream.model.generation.MarkovDecoder.logProbs;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SequenceGeneratorTest {
  private static final long STOP = 4;
  private static final long PAD = 0;
  /** Tokens 0..4; 4 stops. */
  private static final float[][] ENDS_QUICKLY = {
    logProbs(0.1f, 0.6f, 0.1f, 0.1f, 0.1f), // 0 -> 1
    logProbs(0.1f, 0.1f, 0.6f, 0.1f, 0.1f), // 1 -> 2
    logProbs(0.1f, 0.1f, 0.1f, 0.1f, 0.6f), // 2 -> stop
    logProbs(0.2f, 0.2f, 0.2f, 0.2f, 0.2f),
    logProbs(0.2f, 0.2f, 0.2f, 0.2f, 0.2f),
  };
  private static final float[][] NEVER_ENDS = {
    logProbs(0.1f, 0.6f, 0.2f, 0.05f, 0.05f), // 0 -> 1
    logProbs(0.1f, 0.2f, 0.6f, 0.05f, 0.05f), // 1 -> 2
    logProbs(0.1f, 0.6f, 0.2f, 0.05f, 0.05f), // 2 -> 1
    logProbs(0.2f, 0.2f, 0.2f, 0.2f, 0.2f),
    logProbs(0.2f, 0.2f, 0.2f, 0.2f, 0.2f),
  };
  /**
   * Greedy takes 1 (p 0.5) but then has only spread-out continuations; 2 (p 0.4) leads to a certain
   * stop, which beam search finds.
   */
  private static final float[][] GREEDY_TRAP = {
    logProbs(0.05f, 0.5f, 0.4f, 0.05f, 0.0f),
    logProbs(0.27f, 0.25f, 0.0f, 0.24f, 0.24f),
    logProbs(0.0f, 0.0f, 0.0f, 0.0f, 1.0f),
    logProbs(0.2f, 0.2f, 0.2f, 0.2f, 0.2f),
    logProbs(0.2f, 0.2f, 0.2f, 0.2f, 0.2f),
  };

  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void greedyStopsARowOnceItsNewTokensEndWithAStopSequence() {
    MarkovDecoder decoder = new MarkovDecoder(manager, new float[][][] {NEVER_ENDS, NEVER_ENDS}, new int[] {0, 1});
    // Row 0 starts after 1 and produces 2, 1, 2, ...; row 1's prompt already ends with 1, 2, which must not count.
    GenerationResult result = SequenceGenerator.generate(decoder, new long[][] {{0, 1}, {1, 2}},
        GenerationConfig.greedy(8, STOP, PAD), false, java.util.List.of(new long[] {2, 1, 2}, new long[] {9, 9}));
    assertThat(result.sequences()[0]).containsExactly(0, 1, 2, 1, 2, PAD);
    assertThat(result.sequences()[1]).containsExactly(1, 2, 1, 2, 1, 2);
  }

  @Test
  void greedyStopsEachRowOnItsOwnAndPadsIt() {
    MarkovDecoder decoder = new MarkovDecoder(manager, new float[][][] {ENDS_QUICKLY, NEVER_ENDS}, new int[] {0, 1});
    GenerationResult result = SequenceGenerator.generate(
        decoder, new long[][] {{0}, {0}}, GenerationConfig.greedy(7, STOP, PAD), true);
    assertThat(result.sequences()[0]).containsExactly(0, 1, 2, STOP, PAD, PAD, PAD);
    assertThat(result.sequences()[1]).containsExactly(0, 1, 2, 1, 2, 1, 2);
    assertThat(result.stepLogits()[1]).hasNumberOfRows(6);
    assertThat(result.stepLogits()[1][0]).containsExactly(NEVER_ENDS[0]);
  }

  @Test
  void greedyEndsWhenEveryRowStopped() {
    MarkovDecoder decoder = new MarkovDecoder(manager, new float[][][] {ENDS_QUICKLY}, new int[] {0});
    GenerationResult result = SequenceGenerator.generate(
        decoder, new long[][] {{0}}, GenerationConfig.greedy(20, STOP, PAD), false);
    assertThat(result.sequences()[0]).containsExactly(0, 1, 2, STOP);
    assertThat(result.stepLogits()).isNull();
  }

  @Test
  void minLengthForbidsTheStopToken() {
    MarkovDecoder decoder = new MarkovDecoder(manager, new float[][][] {ENDS_QUICKLY}, new int[] {0});
    GenerationResult result = SequenceGenerator.generate(
        decoder, new long[][] {{0}}, GenerationConfig.greedy(6, STOP, PAD).withMinLength(5), false);
    // At length 3 the stop token is forbidden, so the row takes the next best (0, p 0.1, first of the ties).
    assertThat(result.sequences()[0]).startsWith(0, 1, 2, 0, 1).hasSize(6);
  }

  @Test
  void beamSearchWithOneBeamEqualsGreedy() {
    for (float[][] table : new float[][][] {ENDS_QUICKLY, NEVER_ENDS, GREEDY_TRAP}) {
      GenerationConfig config = GenerationConfig.greedy(8, STOP, PAD);
      GenerationResult greedy = SequenceGenerator.greedy(
          new MarkovDecoder(manager, new float[][][] {table}, new int[] {0}), new long[][] {{0}}, config, true);
      GenerationResult beam = SequenceGenerator.beam(
          new MarkovDecoder(manager, new float[][][] {table}, new int[] {0}), new long[][] {{0}}, config, true);
      assertThat(beam.sequences()).isDeepEqualTo(greedy.sequences());
      assertThat(beam.stepLogits()).isDeepEqualTo(greedy.stepLogits());
    }
  }

  @Test
  void beamSearchFindsTheLikelierSequenceAndStopsPerRow() {
    MarkovDecoder decoder =
        new MarkovDecoder(manager, new float[][][] {GREEDY_TRAP, NEVER_ENDS}, new int[] {0, 1});
    GenerationConfig config = GenerationConfig.greedy(6, STOP, PAD).withNumBeams(2);
    GenerationResult result = SequenceGenerator.generate(decoder, new long[][] {{0}, {0}}, config, true);
    // Row 0: 0 -> 2 -> stop (0.4 * 1.0) beats anything after 1 (0.5 * 0.25); padded to the batch length.
    assertThat(result.sequences()[0]).containsExactly(0, 2, STOP, PAD, PAD, PAD);
    assertThat(result.sequences()[1]).containsExactly(0, 1, 2, 1, 2, 1);
    // The logits along the returned hypothesis: from token 0, then from token 2.
    assertThat(result.stepLogits()[0]).hasNumberOfRows(2);
    assertThat(result.stepLogits()[0][0]).containsExactly(GREEDY_TRAP[0]);
    assertThat(result.stepLogits()[0][1]).containsExactly(GREEDY_TRAP[2]);
    GenerationResult greedy = SequenceGenerator.generate(
        new MarkovDecoder(manager, new float[][][] {GREEDY_TRAP}, new int[] {0}), new long[][] {{0}},
        GenerationConfig.greedy(6, STOP, PAD), false);
    assertThat(greedy.sequences()[0]).startsWith(0, 1);
  }

  @Test
  void beamHypothesesKeepTheBestByLengthNormalisedScore() {
    BeamHypotheses hypotheses = new BeamHypotheses(2, 1f);
    hypotheses.add(new long[] {1, 2}, -4f, 0, 0); // -2.0
    hypotheses.add(new long[] {1, 2, 3, 4}, -6f, 0, 0); // -1.5
    assertThat(hypotheses.isDone(-7f, 4)).as("-1.75 beats the worst kept (-2.0)").isFalse();
    hypotheses.add(new long[] {1}, -1.2f, 0, 0); // -1.2 evicts -2.0
    assertThat(hypotheses.best().tokens()).containsExactly(1);
    assertThat(hypotheses.isDone(-7f, 4)).as("-1.75 cannot beat the worst kept (-1.5)").isTrue();
  }

  @Test
  void repetitionPenaltyDividesPositiveAndMultipliesNegativeScores() {
    NDArray scores = manager.create(new float[][] {{2f, -2f, 1f, -1f}, {2f, -2f, 1f, -1f}});
    NDArray out = LogitsProcessing.penalizeRepetition(scores, new long[][] {{0, 1, 1}, {3, 3, 3}}, 2f);
    assertThat(out.toFloatArray()).containsExactly(1f, -4f, 1f, -1f, 2f, -2f, 1f, -2f);
  }
}

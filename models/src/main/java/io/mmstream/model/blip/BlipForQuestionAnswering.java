package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.tensor.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * BLIP visual question answering (HF {@code BlipForQuestionAnswering}, the original {@code BLIP_VQA}):
 * the question, with [ENC] in place of [CLS], is encoded while cross-attending to the image; the
 * answer decoder starts from [DEC] and cross-attends to the question states. Answers are generated,
 * or a closed candidate set is ranked.
 */
public final class BlipForQuestionAnswering extends BlipModel {
  /** {@code label_smoothing} that the original's loss hard-codes; its rank scores include it. */
  public static final double RANK_LABEL_SMOOTHING = 0.1;

  private BlipForQuestionAnswering(BlipConfig config, WeightStore store) {
    super(config, store, BlipConfig.Task.QUESTION_ANSWERING);
  }

  /** Loads {@code config.json} and the safetensors of {@code modelDirectory}; tensors live in {@code manager}. */
  public static BlipForQuestionAnswering load(Path modelDirectory, NDManager manager) throws IOException {
    return BlipModel.open(
        modelDirectory, manager, BlipConfig.Task.QUESTION_ANSWERING, "VQA", BlipForQuestionAnswering::fromStore);
  }

  /** A model of {@code config}'s shapes with random weights (benchmarks). */
  public static BlipForQuestionAnswering random(BlipConfig config, NDManager manager, long seed) {
    return fromStore(config, BlipWeights.random(manager, seed));
  }

  /** A model over {@code store}'s tensors (a checkpoint, random presets, parameters in training). */
  public static BlipForQuestionAnswering fromStore(BlipConfig config, WeightStore store) {
    return BlipModel.build(config, store, BlipForQuestionAnswering::new);
  }

  /**
   * @param questionIds {@code [B, L]} with [ENC] at position 0
   * @param questionMask {@code [B, L]} padding mask or null
   * @param imageStates {@code [B, S, C]}, one image per question
   * @return question states {@code [B, L, H]}, padded positions included
   */
  public NDArray encodeQuestions(NDArray questionIds, NDArray questionMask, NDArray imageStates) {
    return questionEncoder.encode(questionIds, questionMask, imageStates);
  }

  /**
   * Generates answers from [DEC]. As in the original, the decoder attends to every question
   * position, padding included.
   */
  public GenerationResult answer(
      NDArray questionStates, GenerationConfig generation, boolean useKvCache, boolean recordLogits) {
    long[][] start = new long[(int) questionStates.getShape().get(0)][];
    Arrays.fill(start, new long[] {config.text().bosTokenId()});
    try (BlipDecoderSession session = new BlipDecoderSession(decoder, head, questionStates, null, useKvCache)) {
      return SequenceGenerator.generate(session, start, generation, recordLogits);
    }
  }

  /**
   * Ranks {@code candidateIds} ([DEC] answer [SEP], padded with 0) for every question: shortlists
   * the {@code topK} most probable first tokens, then scores those candidates' whole token sequences.
   * Here the decoder's cross-attention honours the question padding mask, as in the original.
   */
  public BlipRanking rank(
      NDArray questionStates, NDArray questionMask, long[][] candidateIds, long[][] candidateMask, int topK) {
    int questions = (int) questionStates.getShape().get(0);
    int candidates = candidateIds.length;
    int k = Math.min(topK, candidates);
    long pad = config.text().padTokenId();
    NDManager call = questionStates.getManager();
    try (NDManager scope = call.newSubManager()) {
      long[][] start = new long[questions][1];
      for (long[] row : start) {
        row[0] = config.text().bosTokenId();
      }
      NDArray firstLogits = answerLogits(scope.create(start), null, questionStates, questionMask).get(":, 0, :");
      float[] vocabularyProbs = firstLogits.softmax(1).toFloatArray();
      int vocab = vocabularyProbs.length / questions;
      float[][] probabilities = new float[questions][];
      int[][] shortlist = new int[questions][];
      for (int q = 0; q < questions; q++) {
        float[] row = new float[candidates];
        for (int c = 0; c < candidates; c++) {
          row[c] = vocabularyProbs[q * vocab + (int) candidateIds[c][1]];
        }
        probabilities[q] = row;
        shortlist[q] = IntStream.range(0, candidates).boxed()
            .sorted(Comparator.comparingDouble((Integer c) -> row[c]).reversed())
            .limit(k)
            .mapToInt(Integer::intValue)
            .toArray();
      }
      int length = candidateIds[0].length;
      long[][] ids = new long[questions * k][];
      long[][] mask = new long[questions * k][];
      long[] questionRows = new long[questions * k];
      for (int q = 0; q < questions; q++) {
        for (int j = 0; j < k; j++) {
          ids[q * k + j] = candidateIds[shortlist[q][j]];
          mask[q * k + j] = candidateMask[shortlist[q][j]];
          questionRows[q * k + j] = q;
        }
      }
      NDArray rowIndex = scope.create(questionRows);
      NDArray tiledStates = questionStates.get(rowIndex);
      tiledStates.attach(scope);
      NDArray tiledMask = null;
      if (questionMask != null) {
        tiledMask = questionMask.get(rowIndex);
        tiledMask.attach(scope);
      }
      NDArray logProbs = answerLogits(scope.create(ids), scope.create(mask), tiledStates, tiledMask)
          .get(":, :-1, :").logSoftmax(2);
      long[][] targets = new long[ids.length][length - 1];
      for (int i = 0; i < ids.length; i++) {
        targets[i] = Arrays.copyOfRange(ids[i], 1, length);
      }
      NDArray targetLogProbs = logProbs.gather(scope.create(targets).expandDims(2), 2).squeeze(2);
      float[] target = targetLogProbs.toFloatArray();
      float[] meanLogProbs = logProbs.mean(new int[] {2}).toFloatArray();
      double[][] scores = new double[questions][candidates];
      double[][] logLikelihoods = new double[questions][candidates];
      int[] best = new int[questions];
      for (int q = 0; q < questions; q++) {
        Arrays.fill(scores[q], Double.NaN);
        Arrays.fill(logLikelihoods[q], Double.NaN);
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
          int row = q * k + j;
          double score = 0;
          double logLikelihood = 0;
          for (int t = 0; t < length - 1; t++) {
            if (targets[row][t] == pad) {
              continue;
            }
            int at = row * (length - 1) + t;
            score += (1 - RANK_LABEL_SMOOTHING) * target[at] + RANK_LABEL_SMOOTHING * meanLogProbs[at];
            logLikelihood += target[at];
          }
          int candidate = shortlist[q][j];
          scores[q][candidate] = score;
          logLikelihoods[q][candidate] = logLikelihood;
          if (score > bestScore) {
            bestScore = score;
            best[q] = candidate;
          }
        }
      }
      return new BlipRanking(probabilities, shortlist, scores, logLikelihoods, best);
    }
  }

  /**
   * Teacher-forced answer logits {@code [B, L, V]} for answer ids {@code [B, L]} ([DEC] first), the
   * decoder cross-attending to {@code questionStates} under {@code questionMask} (null: every position).
   */
  public NDArray answerLogits(NDArray ids, NDArray mask, NDArray questionStates, NDArray questionMask) {
    return head.forward(decoder.decode(ids, mask, questionStates, questionMask));
  }
}

package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An image and its questions (or instructions) in, answers out: generated answers, and when a closed
 * candidate set is given (e.g. yes/no for a moderation policy) per-candidate probabilities and scores.
 * The questions of one image run as one padded batch, as the original's forward does.
 */
public final class BlipQuestionAnswerer implements AutoCloseable {
  /** The original's {@code k_test} (configs/vqa.yaml): how many candidates rank mode rescores. */
  public static final int DEFAULT_RANK_TOP_K = 128;

  public record Options(GenerationConfig generation, int maxNewTokens, int rankTopK, boolean useKvCache,
      boolean recordLogits) {

    /** {@code BLIP_VQA}'s generate settings: 3 beams, max_length 10, min_length 1; rank top-k 128. */
    public static Options original(BlipTextConfig text) {
      return new Options(new GenerationConfig(10, 1, 3, 1f, 1f, text.sepTokenId(), text.padTokenId()), 0,
          DEFAULT_RANK_TOP_K, true, false);
    }

    public Options withGeneration(GenerationConfig newGeneration) {
      return new Options(newGeneration, maxNewTokens, rankTopK, useKvCache, recordLogits);
    }
  }

  /**
   * @param probability the candidate's first-token probability
   * @param score minus the label-smoothed cross-entropy of the whole candidate (the original's
   *     ranking score); NaN when the candidate was not among the top-k by probability
   * @param logLikelihood the plain sum of the candidate's token log-probabilities (NaN likewise)
   */
  public record CandidateScore(String answer, double probability, double score, double logLikelihood) {}

  /**
   * @param ids generated tokens after [DEC] (a row that stopped early is padded to the batch's length)
   * @param candidates empty without a candidate set
   * @param rankedAnswer the best-scoring candidate, or null without a candidate set
   */
  public record Answer(String question, long[] ids, String text, float[][] stepLogits,
      List<CandidateScore> candidates, String rankedAnswer) {}

  /** The closed set whose rank-mode probabilities give {@link QueryAnswers#yesProbabilities}. */
  public static final List<String> YES_NO = List.of("yes", "no");

  /**
   * One image, already preprocessed ({@link BlipImagePreprocessor#toChw}), with its questions and
   * optional candidate answers (empty: no rank mode).
   */
  public record Query(float[] pixelValues, List<String> questions, List<String> candidates) {}

  /**
   * A query's answers, and for each question {@code P(yes) / (P(yes) + P(no))} from the rank-mode
   * probabilities over {@link #YES_NO}.
   */
  public record QueryAnswers(List<Answer> answers, double[] yesProbabilities) {}

  private final BlipForQuestionAnswering model;
  private final BlipTokenizer tokenizer;
  private final BlipImagePreprocessor preprocessor;
  private final Options defaultOptions;

  public BlipQuestionAnswerer(BlipForQuestionAnswering model, BlipTokenizer tokenizer, BlipImagePreprocessor preprocessor) {
    this(model, tokenizer, preprocessor, Options.original(model.config().text()));
  }

  private BlipQuestionAnswerer(BlipForQuestionAnswering model, BlipTokenizer tokenizer, BlipImagePreprocessor preprocessor,
      Options defaultOptions) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.preprocessor = preprocessor;
    this.defaultOptions = defaultOptions;
  }

  public static BlipQuestionAnswerer load(Path modelDirectory, NDManager manager) throws IOException {
    BlipForQuestionAnswering model = BlipForQuestionAnswering.load(modelDirectory, manager);
    try {
      Options original = Options.original(model.config().text());
      Options defaults = original.withGeneration(original.generation().withModelDefaults(modelDirectory));
      return new BlipQuestionAnswerer(model, BlipTokenizer.open(modelDirectory, model.config().text()),
          BlipImagePreprocessor.load(modelDirectory, model.config().vision()), defaults);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public BlipForQuestionAnswering model() {
    return model;
  }

  /** The original's settings, with the model directory's {@code generation_config.json} applied when loaded from one. */
  public Options defaultOptions() {
    return defaultOptions;
  }

  public BlipImagePreprocessor preprocessor() {
    return preprocessor;
  }

  /**
   * Answers the questions of several images together: one vision pass for all images; then, for the
   * queries whose questions pad to the same length, one question-encoder pass, one generation and
   * one yes/no ranking; candidates are ranked per distinct candidate set. Grouping by padded length
   * keeps every answer what {@link #answer} gives for its image alone, since the answer decoder
   * attends to the question padding as the original does.
   */
  public List<QueryAnswers> answerAll(List<Query> queries, Options options) {
    GenerationConfig generation = options.generation();
    if (options.maxNewTokens() > 0) {
      generation = generation.withMaxLength(1 + options.maxNewTokens());
    }
    BlipTokenizer.Batch[] tokens = new BlipTokenizer.Batch[queries.size()];
    Map<Integer, List<Integer>> queriesByLength = new LinkedHashMap<>();
    for (int i = 0; i < queries.size(); i++) {
      if (queries.get(i).questions().isEmpty()) {
        throw new IllegalArgumentException("query " + i + " has no questions");
      }
      tokens[i] = tokenizer.questions(queries.get(i).questions());
      queriesByLength.computeIfAbsent(tokens[i].ids()[0].length, l -> new ArrayList<>()).add(i);
    }
    BlipTokenizer.Batch yesNo = tokenizer.candidates(YES_NO);
    QueryAnswers[] out = new QueryAnswers[queries.size()];
    try (NDManager call = model.manager().newSubManager()) {
      NDArray imageStates = model.encodeImages(
          preprocessor.pixelValues(queries.stream().map(Query::pixelValues).toList(), call));
      for (List<Integer> group : queriesByLength.values()) {
        List<long[]> ids = new ArrayList<>();
        List<long[]> masks = new ArrayList<>();
        List<Long> imageRows = new ArrayList<>();
        int[] firstRow = new int[group.size()];
        for (int g = 0; g < group.size(); g++) {
          int q = group.get(g);
          firstRow[g] = ids.size();
          ids.addAll(List.of(tokens[q].ids()));
          masks.addAll(List.of(tokens[q].mask()));
          for (int r = 0; r < tokens[q].ids().length; r++) {
            imageRows.add((long) q);
          }
        }
        NDArray perQuestion = imageStates.get(call.create(imageRows.stream().mapToLong(Long::longValue).toArray()));
        NDArray mask = call.create(masks.toArray(long[][]::new));
        NDArray questionStates = model.encodeQuestions(call.create(ids.toArray(long[][]::new)), mask, perQuestion);
        GenerationResult generated = model.answer(questionStates, generation, options.useKvCache(), options.recordLogits());
        BlipRanking yesNoRanking = model.rank(questionStates, mask, yesNo.ids(), yesNo.mask(), YES_NO.size());
        Map<List<String>, List<Integer>> byCandidates = new LinkedHashMap<>();
        for (int g = 0; g < group.size(); g++) {
          if (!queries.get(group.get(g)).candidates().isEmpty()) {
            byCandidates.computeIfAbsent(queries.get(group.get(g)).candidates(), c -> new ArrayList<>()).add(g);
          }
        }
        Map<Integer, BlipRanking> rankingOf = new HashMap<>();
        Map<Integer, Integer> rankingRowOf = new HashMap<>();
        for (Map.Entry<List<String>, List<Integer>> entry : byCandidates.entrySet()) {
          List<Long> rows = new ArrayList<>();
          for (int g : entry.getValue()) {
            rankingRowOf.put(g, rows.size());
            for (int r = 0; r < queries.get(group.get(g)).questions().size(); r++) {
              rows.add((long) firstRow[g] + r);
            }
          }
          NDArray rowIndex = call.create(rows.stream().mapToLong(Long::longValue).toArray());
          BlipTokenizer.Batch candidates = tokenizer.candidates(entry.getKey());
          BlipRanking ranking = model.rank(questionStates.get(rowIndex), mask.get(rowIndex), candidates.ids(),
              candidates.mask(), options.rankTopK());
          entry.getValue().forEach(g -> rankingOf.put(g, ranking));
        }
        for (int g = 0; g < group.size(); g++) {
          Query query = queries.get(group.get(g));
          List<Answer> answers = new ArrayList<>();
          double[] yes = new double[query.questions().size()];
          for (int r = 0; r < query.questions().size(); r++) {
            int row = firstRow[g] + r;
            float[] yesNoProbabilities = yesNoRanking.firstTokenProbabilities()[row];
            yes[r] = yesNoProbabilities[0] / ((double) yesNoProbabilities[0] + yesNoProbabilities[1]);
            BlipRanking ranking = rankingOf.get(g);
            answers.add(answer(query.questions().get(r), generated, row, query.candidates(), ranking,
                ranking == null ? -1 : rankingRowOf.get(g) + r));
          }
          out[group.get(g)] = new QueryAnswers(answers, yes);
        }
      }
    }
    return List.of(out);
  }

  private Answer answer(String question, GenerationResult generated, int row, List<String> candidates,
      BlipRanking ranking, int rankingRow) {
    long[] sequence = generated.sequences()[row];
    List<CandidateScore> scored = new ArrayList<>();
    String ranked = null;
    if (ranking != null) {
      for (int c = 0; c < candidates.size(); c++) {
        scored.add(new CandidateScore(candidates.get(c), ranking.firstTokenProbabilities()[rankingRow][c],
            ranking.scores()[rankingRow][c], ranking.logLikelihoods()[rankingRow][c]));
      }
      ranked = candidates.get(ranking.best()[rankingRow]);
    }
    return new Answer(question, Arrays.copyOfRange(sequence, 1, sequence.length), tokenizer.decode(sequence),
        generated.stepLogits() == null ? null : generated.stepLogits()[row], scored, ranked);
  }

  /** Answers every question about {@code image}; ranks {@code candidates} too when there are any. */
  public List<Answer> answer(PixelImage image, List<String> questions, List<String> candidates, Options options) {
    if (questions.isEmpty()) {
      return List.of();
    }
    GenerationConfig generation = options.generation();
    if (options.maxNewTokens() > 0) {
      generation = generation.withMaxLength(1 + options.maxNewTokens());
    }
    BlipTokenizer.Batch batch = tokenizer.questions(questions);
    GenerationResult generated;
    BlipRanking ranking = null;
    try (NDManager call = model.manager().newSubManager()) {
      NDArray imageStates = model.encodeImages(preprocessor.pixelValues(List.of(image), call));
      // One image, several questions: its states are shared by every question row.
      NDArray perQuestion = imageStates.get(call.create(new long[questions.size()]));
      NDArray mask = call.create(batch.mask());
      NDArray questionStates = model.encodeQuestions(call.create(batch.ids()), mask, perQuestion);
      generated = model.answer(questionStates, generation, options.useKvCache(), options.recordLogits());
      if (!candidates.isEmpty()) {
        BlipTokenizer.Batch answers = tokenizer.candidates(candidates);
        ranking = model.rank(questionStates, mask, answers.ids(), answers.mask(), options.rankTopK());
      }
    }
    List<Answer> out = new ArrayList<>();
    for (int q = 0; q < questions.size(); q++) {
      out.add(answer(questions.get(q), generated, q, candidates, ranking, q));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    tokenizer.close();
    model.close();
  }
}

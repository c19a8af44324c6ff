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
import java.util.List;

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

  private final BlipForQuestionAnswering model;
  private final BlipTokenizer tokenizer;
  private final BlipImagePreprocessor preprocessor;

  public BlipQuestionAnswerer(BlipForQuestionAnswering model, BlipTokenizer tokenizer, BlipImagePreprocessor preprocessor) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.preprocessor = preprocessor;
  }

  public static BlipQuestionAnswerer load(Path modelDirectory, NDManager manager) throws IOException {
    BlipForQuestionAnswering model = BlipForQuestionAnswering.load(modelDirectory, manager);
    try {
      return new BlipQuestionAnswerer(model, BlipTokenizer.open(modelDirectory, model.config().text()),
          BlipImagePreprocessor.load(modelDirectory, model.config().vision()));
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  public BlipForQuestionAnswering model() {
    return model;
  }

  public Options defaultOptions() {
    return Options.original(model.config().text());
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
      long[] sequence = generated.sequences()[q];
      List<CandidateScore> scored = new ArrayList<>();
      String ranked = null;
      if (ranking != null) {
        for (int c = 0; c < candidates.size(); c++) {
          scored.add(new CandidateScore(candidates.get(c), ranking.firstTokenProbabilities()[q][c],
              ranking.scores()[q][c], ranking.logLikelihoods()[q][c]));
        }
        ranked = candidates.get(ranking.best()[q]);
      }
      out.add(new Answer(questions.get(q), Arrays.copyOfRange(sequence, 1, sequence.length),
          tokenizer.decode(sequence), generated.stepLogits() == null ? null : generated.stepLogits()[q],
          scored, ranked));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    tokenizer.close();
    model.close();
  }
}

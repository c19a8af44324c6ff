package io.mmstream.model.blip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every VQA golden of blip-tiny-vqa (single, batched and rank mode), from the original salesforce/BLIP code. */
class BlipVqaParityTest {
  private static BlipFixture fixture;
  private static NDManager manager;
  private static BlipForQuestionAnswering model;
  private static BlipTokenizer tokenizer;
  private static List<String> questions;
  private static List<String> candidates;

  @BeforeAll
  static void load() throws Exception {
    fixture = BlipFixture.vqa();
    manager = NDManager.newBaseManager();
    model = BlipForQuestionAnswering.load(fixture.dir, manager);
    tokenizer = BlipTokenizer.open(fixture.dir, model.config().text());
    questions = texts(fixture.golden.path("vqa").path("questions"));
    candidates = texts(fixture.golden.path("vqa").path("rank").path("candidates"));
  }

  @AfterAll
  static void close() throws Exception {
    tokenizer.close();
    model.close();
    manager.close();
    fixture.close();
  }

  @Test
  void visionTowerMatchesEveryStage() throws Exception {
    BlipImagePreprocessor pre = BlipImagePreprocessor.load(fixture.dir, model.config().vision());
    try (NDManager call = manager.newSubManager()) {
      NDArray pixels = pre.pixelValues(fixture.images(false), call);
      fixture.assertClose("inputs.pixel_values", pixels);
      NDArray embedded = model.vision().embed(pixels);
      fixture.assertClose("vqa.vision_embeddings", embedded);
      fixture.assertClose("vqa.vision_pre_norm", model.vision().encode(embedded));
      fixture.assertClose("vqa.vision_last_hidden_state", model.encodeImages(pixels));
    }
  }

  @Test
  void singleQuestionsMatchStatesFirstStepAndAnswers() {
    long[][] expectedAnswers = fixture.longRows("vqa.single.answer_ids");
    float[] expectedFirst = fixture.floats("vqa.single.first_step_logits");
    int vocab = model.config().text().vocabSize();
    GenerationConfig greedy = GenerationConfig.greedy(expectedAnswers[0].length, 102, 0);
    try (NDManager call = manager.newSubManager()) {
      NDArray images = model.encodeImages(pixelValues(call));
      for (int q = 0; q < questions.size(); q++) {
        BlipTokenizer.Batch batch = tokenizer.questions(List.of(questions.get(q)));
        assertThat(batch.ids()[0]).containsExactly(fixture.longs("vqa.single.q" + q + ".input_ids"));
        NDArray states = model.encodeQuestions(
            call.create(batch.ids()), call.create(batch.mask()), images.get(q + ":" + (q + 1)));
        String name = "vqa.single.q" + q + ".question_last_hidden_state";
        fixture.assertClose(name, states.squeeze(0).toFloatArray(), fixture.atol(name));
        for (boolean cached : new boolean[] {false, true}) {
          GenerationResult answer = model.answer(states, greedy, cached, true);
          assertThat(answer.sequences()[0]).as("answer " + q).containsExactly(expectedAnswers[q]);
          BlipFixture.assertClose("first step logits " + q, answer.stepLogits()[0][0],
              Arrays.copyOfRange(expectedFirst, q * vocab, (q + 1) * vocab),
              fixture.atol("vqa.single.first_step_logits"));
        }
      }
    }
  }

  @Test
  void paddedBatchMatchesTheOriginalForward() {
    BlipTokenizer.Batch batch = tokenizer.questions(questions);
    assertThat(batch.ids()).isDeepEqualTo(fixture.longRows("vqa.batch.input_ids"));
    assertThat(batch.mask()).isDeepEqualTo(fixture.longRows("vqa.batch.attention_mask"));
    long[][] expectedAnswers = fixture.longRows("vqa.batch.answer_ids");
    try (NDManager call = manager.newSubManager()) {
      NDArray images = model.encodeImages(pixelValues(call));
      NDArray mask = call.create(batch.mask());
      NDArray states = model.encodeQuestions(call.create(batch.ids()), mask, images);
      fixture.assertClose("vqa.batch.question_last_hidden_state", states);
      GenerationResult answers =
          model.answer(states, GenerationConfig.greedy(expectedAnswers[0].length, 102, 0), true, true);
      assertThat(answers.sequences()).isDeepEqualTo(expectedAnswers);
      float[][] first = new float[questions.size()][];
      for (int q = 0; q < first.length; q++) {
        first[q] = answers.stepLogits()[q][0];
      }
      fixture.assertClose("vqa.batch.first_step_logits", BlipCaptionParityTest.flatten(first),
          fixture.atol("vqa.batch.first_step_logits"));
      BlipRanking ranking = model.rank(states, mask, tokenizer.candidates(candidates).ids(),
          tokenizer.candidates(candidates).mask(), 3);
      assertThat(Arrays.stream(ranking.best()).asLongStream().toArray())
          .containsExactly(fixture.longs("vqa.batch.rank_answer_index_k3"));
    }
  }

  @Test
  void rankModeMatchesProbabilitiesScoresAndChoices() {
    BlipTokenizer.Batch cands = tokenizer.candidates(candidates);
    assertThat(cands.ids()).isDeepEqualTo(fixture.longRows("vqa.rank.candidate_ids"));
    assertThat(cands.mask()).isDeepEqualTo(fixture.longRows("vqa.rank.candidate_attention_mask"));
    int n = questions.size();
    int c = candidates.size();
    float[] probs = new float[n * c];
    float[] scores = new float[n * c];
    float[] logLikelihoods = new float[n * c];
    long[] best7 = new long[n];
    long[] best3 = new long[n];
    long[] shortlist3 = new long[n * 3];
    try (NDManager call = manager.newSubManager()) {
      NDArray images = model.encodeImages(pixelValues(call));
      for (int q = 0; q < n; q++) {
        BlipTokenizer.Batch batch = tokenizer.questions(List.of(questions.get(q)));
        NDArray mask = call.create(batch.mask());
        NDArray states = model.encodeQuestions(call.create(batch.ids()), mask, images.get(q + ":" + (q + 1)));
        BlipRanking all = model.rank(states, mask, cands.ids(), cands.mask(), c);
        BlipRanking top3 = model.rank(states, mask, cands.ids(), cands.mask(), 3);
        for (int j = 0; j < c; j++) {
          probs[q * c + j] = all.firstTokenProbabilities()[0][j];
          scores[q * c + j] = (float) all.scores()[0][j];
          logLikelihoods[q * c + j] = (float) all.logLikelihoods()[0][j];
        }
        best7[q] = all.best()[0];
        best3[q] = top3.best()[0];
        for (int j = 0; j < 3; j++) {
          shortlist3[q * 3 + j] = top3.shortlist()[0][j];
        }
      }
    }
    fixture.assertClose("vqa.rank.first_token_probs", probs, fixture.atol("vqa.rank.first_token_probs"));
    fixture.assertClose("vqa.rank.scores", scores, fixture.atol("vqa.rank.scores"));
    fixture.assertClose("vqa.rank.loglik", logLikelihoods, fixture.atol("vqa.rank.loglik"));
    assertThat(best7).containsExactly(fixture.longs("vqa.rank.answer_index_k7"));
    assertThat(best3).containsExactly(fixture.longs("vqa.rank.answer_index_k3"));
    assertThat(shortlist3).containsExactly(fixture.longs("vqa.rank.topk_ids_k3"));
  }

  private static NDArray pixelValues(NDManager call) {
    return call.create(fixture.floats("inputs.pixel_values"), new Shape(fixture.shape("inputs.pixel_values")));
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}

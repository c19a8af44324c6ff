package io.mmstream.model.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipZeroShotTaggerTest {
  @TempDir static Path modelDir;
  private static ClipFixture fixture;
  private static NDManager manager;
  private static ClipModel model;
  private static ClipTokenizer tokenizer;
  private static ClipZeroShotTagger tagger;
  private static List<PixelImage> images;
  private static final LabelSet SHAPES = new LabelSet(
      "shapes",
      List.of("red circle", "blue square", "green triangle", "gradient", "noise"),
      List.of("a photo of a {}.", "a drawing of a {}.", "{}"));

  @BeforeAll
  static void load() throws Exception {
    fixture = ClipFixture.load();
    manager = NDManager.newBaseManager();
    ClipFixture.assembleModelDir(modelDir);
    model = ClipModel.load(modelDir, manager);
    tokenizer = ClipTokenizer.load(modelDir, 77);
    // A batch of 4 so that the 15 prompts take several text batches.
    tagger = new ClipZeroShotTagger(model, tokenizer, manager, 4);
    images = new ArrayList<>();
    for (String file : fixture.imageFiles()) {
      images.add(ClipImagePreprocessorTest.read(ClipFixture.IMAGES.resolve(file)));
    }
  }

  @AfterAll
  static void close() {
    tagger.close();
    tokenizer.close();
    model.close();
    manager.close();
  }

  @Test
  void theCacheKeepsTheMostRecentlyUsedSetsAndTagsAfterEviction() {
    LabelSet a = new LabelSet("a", List.of("red circle", "noise"), List.of("{}"));
    LabelSet b = new LabelSet("b", List.of("blue square", "noise"), List.of("{}"));
    LabelSet c = new LabelSet("c", List.of("green triangle", "noise"), List.of("{}"));
    try (ClipZeroShotTagger small = new ClipZeroShotTagger(model, tokenizer, manager, 4, 2)) {
      float[] first = small.labelEmbeddings(a).toFloatArray();
      small.labelEmbeddings(b);
      small.labelEmbeddings(a);
      small.labelEmbeddings(c);
      assertThat(small.cachedLabelSets()).isEqualTo(2);
      // b was least recently used; a is still cached, and b comes back recomputed, equal.
      assertThat(small.labelEmbeddings(a).toFloatArray()).isEqualTo(first);
      List<ClipZeroShotTagger.ImageTags> tags = small.tag(images.subList(0, 2), b, 1);
      assertThat(tags).hasSize(2);
      assertThat(small.cachedLabelSets()).isEqualTo(2);
    }
  }

  @Test
  void eachImageIsScoredAgainstItsOwnLabelSet() {
    ClipImagePreprocessor preprocessor = new ClipImagePreprocessor(model.config().visionConfig().imageSize());
    LabelSet colours = new LabelSet("colours", List.of("red", "blue", "green"), List.of("a {} shape."));
    List<float[]> pixels = images.subList(0, 3).stream().map(preprocessor::pixelValues).toList();
    List<ClipZeroShotTagger.ImageTags> mixed = tagger.tag(pixels, List.of(SHAPES, colours, SHAPES), new int[] {2, 3, 1});
    for (int i = 0; i < 3; i++) {
      LabelSet set = i == 1 ? colours : SHAPES;
      int topK = new int[] {2, 3, 1}[i];
      ClipZeroShotTagger.ImageTags alone = tagger.tag(List.of(images.get(i)), set, topK).get(0);
      assertThat(mixed.get(i).top()).extracting(ClipZeroShotTagger.LabelScore::label)
          .isEqualTo(alone.top().stream().map(ClipZeroShotTagger.LabelScore::label).toList());
      for (int r = 0; r < topK; r++) {
        assertThat(mixed.get(i).top().get(r).probability()).isCloseTo(alone.top().get(r).probability(), within(1e-5f));
      }
    }
  }

  @Test
  void labelEmbeddingIsTheRenormalisedMeanOfNormalisedPrompts() {
    NDArray cached = tagger.labelEmbeddings(SHAPES);
    assertThat(tagger.labelEmbeddings(SHAPES)).isSameAs(cached);
    float[] all = cached.toFloatArray();
    int e = model.config().projectionDim();
    try (NDManager scope = manager.newSubManager()) {
      for (int l = 0; l < SHAPES.labels().size(); l++) {
        float[] prompts = model.encodeText(tokenizer.encode(SHAPES.prompts(SHAPES.labels().get(l))), scope).toFloatArray();
        double[] mean = new double[e];
        for (int t = 0; t < SHAPES.templates().size(); t++) {
          double norm = 0;
          for (int j = 0; j < e; j++) {
            norm += prompts[t * e + j] * (double) prompts[t * e + j];
          }
          for (int j = 0; j < e; j++) {
            mean[j] += prompts[t * e + j] / Math.sqrt(norm) / SHAPES.templates().size();
          }
        }
        double norm = 0;
        for (double v : mean) {
          norm += v * v;
        }
        for (int j = 0; j < e; j++) {
          assertThat((double) all[l * e + j]).isCloseTo(mean[j] / Math.sqrt(norm), offset(1e-6));
        }
      }
    }
  }

  @Test
  void tagsCarryProbabilitiesCosinesAndTheGoldenEmbedding() {
    List<ClipZeroShotTagger.ImageTags> tags = tagger.tag(images, SHAPES, SHAPES.labels().size());
    assertThat(tags).hasSize(images.size());
    ClipFixture.Tensor golden = fixture.tensor("image_features_normalized");
    NDArray labels = tagger.labelEmbeddings(SHAPES);
    float[] labelRows = labels.toFloatArray();
    int e = model.config().projectionDim();
    for (int i = 0; i < tags.size(); i++) {
      ClipZeroShotTagger.ImageTags t = tags.get(i);
      for (int j = 0; j < e; j++) {
        assertThat((double) t.embedding()[j])
            .isCloseTo(golden.values()[i * e + j], offset(fixture.tolerance("image_features_normalized")));
      }
      double sum = 0;
      double[] logits = new double[SHAPES.labels().size()];
      for (int r = 0; r < t.top().size(); r++) {
        ClipZeroShotTagger.LabelScore s = t.top().get(r);
        int l = SHAPES.labels().indexOf(s.label());
        double cosine = 0;
        for (int j = 0; j < e; j++) {
          cosine += t.embedding()[j] * (double) labelRows[l * e + j];
        }
        assertThat((double) s.cosine()).isCloseTo(cosine, offset(1e-6));
        logits[l] = model.logitScaleExp() * cosine;
        if (r > 0) {
          assertThat(s.cosine()).isLessThanOrEqualTo(t.top().get(r - 1).cosine());
        }
        sum += s.probability();
      }
      assertThat(sum).isCloseTo(1.0, offset(1e-5));
      double denominator = 0;
      for (double logit : logits) {
        denominator += Math.exp(logit);
      }
      ClipZeroShotTagger.LabelScore best = t.top().get(0);
      double expected = Math.exp(logits[SHAPES.labels().indexOf(best.label())]) / denominator;
      assertThat((double) best.probability()).isCloseTo(expected, offset(1e-5));
    }
  }

  @Test
  void batchedEqualsOneByOne() {
    List<ClipZeroShotTagger.ImageTags> batched = tagger.tag(images, SHAPES, 2);
    for (int i = 0; i < images.size(); i++) {
      ClipZeroShotTagger.ImageTags single = tagger.tag(List.of(images.get(i)), SHAPES, 2).get(0);
      assertThat(single.top()).extracting(ClipZeroShotTagger.LabelScore::label)
          .isEqualTo(batched.get(i).top().stream().map(ClipZeroShotTagger.LabelScore::label).toList());
      for (int r = 0; r < 2; r++) {
        assertThat(single.top().get(r).cosine()).isCloseTo(batched.get(i).top().get(r).cosine(), offset(1e-5f));
        assertThat(single.top().get(r).probability())
            .isCloseTo(batched.get(i).top().get(r).probability(), offset(1e-5f));
      }
      assertClose(single.embedding(), batched.get(i).embedding());
    }
    float[][] embeddings = tagger.embedImages(images);
    for (int i = 0; i < images.size(); i++) {
      assertClose(embeddings[i], batched.get(i).embedding());
    }
  }

  private static void assertClose(float[] actual, float[] expected) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int j = 0; j < actual.length; j++) {
      assertThat(actual[j]).isCloseTo(expected[j], offset(1e-5f));
    }
  }

  @Test
  void labelSetsReadFromJson() throws Exception {
    Map<String, LabelSet> sets = LabelSet.fromJson(new ObjectMapper().readTree(
        "{\"moderation\": {\"labels\": [\"safe\", \"violent\"], \"templates\": [\"a {} image\"]}}"));
    assertThat(sets.get("moderation").prompts("violent")).containsExactly("a violent image");
    assertThatThrownBy(() -> new LabelSet("bad", List.of("x"), List.of("no placeholder")))
        .hasMessageContaining("no {}");
  }
}

package io.mmstream.demo.eval;

import ai.djl.ndarray.NDManager;
import io.mmstream.config.LabelSets;
import io.mmstream.demo.SceneDialogues;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.demo.SceneGenerator.QuestionAnswer;
import io.mmstream.demo.SceneGenerator.Scene;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.blip.BlipCaptioner;
import io.mmstream.model.blip.BlipQuestionAnswerer;
import io.mmstream.model.clip.ClipModel;
import io.mmstream.model.clip.ClipTokenizer;
import io.mmstream.model.clip.ClipZeroShotTagger;
import io.mmstream.model.clip.LabelSet;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Held-out accuracy of the demo models on scenes none of them trained on, through the same
 * inference classes the workers use:
 *
 * <ul>
 *   <li>tag top-1: zero-shot over the demo label set; right when the best label is one of the
 *       scene's colour+shape tags;
 *   <li>caption attribute exact match: the colour and shape words of the caption, in order, equal
 *       the ground truth's (articles, commas and "and" are not judged);
 *   <li>VQA accuracy: the generated answer equals the ground truth exactly;
 *   <li>chat accuracy ({@link #evaluateChat}): replies in held-out conversations equal the answer exactly, over
 *       all turns and over the follow-ups that need the history.
 * </ul>
 */
public final class DemoEvaluation {
  /** Far from every training seed, so held-out scenes are new ones. */
  public static final long HELD_OUT_SEED = 9_000_001L;
  /** The held-out conversations' questions: not the chat trainer's conversation seed. */
  public static final long HELD_OUT_CONVERSATION_SEED = 9_000_002L;
  /** Longer than any demo answer (a three-shape list is 12 tokens with its stop token). */
  private static final int CHAT_MAX_NEW_TOKENS = 24;
  private static final int BATCH = 16;
  private static final Set<String> ATTRIBUTE_WORDS = attributeWords();

  public record Result(int scenes, double tagTop1, double captionAttributeExact, double vqaAccuracy, int questions,
                       List<String> examples) {}

  /**
   * @param accuracy exact replies over all turns
   * @param followUpAccuracy exact replies over the follow-up turns, whose answer needs the history
   */
  public record ChatResult(int conversations, int turns, double accuracy, int followUps, double followUpAccuracy,
                           List<String> examples) {}

  private DemoEvaluation() {}

  /** Label set {@code name} as the stream app resolves it for {@code tenant} from a label sets file. */
  public static LabelSet labelSet(Path labelSetsFile, String tenant, String name) {
    LabelSets.LabelSet set = LabelSets.load(labelSetsFile).find(tenant, name)
        .orElseThrow(() -> new IllegalArgumentException(labelSetsFile + " has no label set '" + name + "'"));
    return new LabelSet(set.name(), set.labels(), set.templates());
  }

  public static Result evaluate(Path clipDir, Path captionDir, Path vqaDir, LabelSet labels, int sceneCount,
                                int sceneSize) throws IOException {
    SceneGenerator generator = new SceneGenerator(HELD_OUT_SEED, sceneSize);
    List<Scene> scenes = new ArrayList<>();
    for (int i = 0; i < sceneCount; i++) {
      scenes.add(generator.next());
    }
    List<PixelImage> images = scenes.stream().map(s -> PixelImage.from(s.image())).toList();
    List<String> examples = new ArrayList<>();
    try (NDManager manager = NDManager.newBaseManager()) {
      double tags = tagTop1(clipDir, labels, scenes, images, manager, examples);
      double captions = captionExact(captionDir, scenes, images, manager, examples);
      int[] vqa = vqaCorrect(vqaDir, scenes, images, manager, examples);
      return new Result(sceneCount, tags, captions, (double) vqa[0] / vqa[1], vqa[1], examples);
    }
  }

  private static double tagTop1(Path dir, LabelSet labels, List<Scene> scenes, List<PixelImage> images,
                                NDManager manager, List<String> examples) throws IOException {
    int right = 0;
    try (ClipModel model = ClipModel.load(dir, manager);
         ClipTokenizer tokenizer = ClipTokenizer.load(dir, model.config().textConfig().maxPositionEmbeddings());
         ClipZeroShotTagger tagger = new ClipZeroShotTagger(model, tokenizer, manager, 64)) {
      for (int from = 0; from < scenes.size(); from += BATCH) {
        int to = Math.min(scenes.size(), from + BATCH);
        List<ClipZeroShotTagger.ImageTags> tagged = tagger.tag(images.subList(from, to), labels, 1);
        for (int i = from; i < to; i++) {
          String best = tagged.get(i - from).top().get(0).label();
          if (scenes.get(i).tags().contains(best)) {
            right++;
          } else if (examples.size() < 12) {
            examples.add("tag: " + best + " for " + scenes.get(i).tags());
          }
        }
      }
    }
    return (double) right / scenes.size();
  }

  private static double captionExact(Path dir, List<Scene> scenes, List<PixelImage> images, NDManager manager,
                                     List<String> examples) throws IOException {
    int right = 0;
    try (BlipCaptioner captioner = BlipCaptioner.load(dir, manager)) {
      BlipCaptioner.Options options = captioner.defaultOptions();
      for (int from = 0; from < scenes.size(); from += BATCH) {
        int to = Math.min(scenes.size(), from + BATCH);
        List<BlipCaptioner.Caption> captions = captioner.caption(images.subList(from, to), options);
        for (int i = from; i < to; i++) {
          String caption = captions.get(i - from).text();
          if (attributes(caption).equals(attributes(scenes.get(i).caption()))) {
            right++;
          } else if (examples.size() < 24) {
            examples.add("caption: '" + caption.strip() + "' for '" + scenes.get(i).caption() + "'");
          }
        }
      }
    }
    return (double) right / scenes.size();
  }

  private static int[] vqaCorrect(Path dir, List<Scene> scenes, List<PixelImage> images, NDManager manager,
                                  List<String> examples) throws IOException {
    int right = 0;
    int asked = 0;
    try (BlipQuestionAnswerer answerer = BlipQuestionAnswerer.load(dir, manager)) {
      BlipQuestionAnswerer.Options options = answerer.defaultOptions();
      for (int i = 0; i < scenes.size(); i++) {
        List<QuestionAnswer> qa = scenes.get(i).questions();
        List<BlipQuestionAnswerer.Answer> answers =
            answerer.answer(images.get(i), qa.stream().map(QuestionAnswer::question).toList(), List.of(), options);
        for (int q = 0; q < qa.size(); q++) {
          asked++;
          String answer = answers.get(q).text().strip().toLowerCase(Locale.ROOT);
          if (answer.equals(qa.get(q).answer())) {
            right++;
          } else if (examples.size() < 36) {
            examples.add("vqa: '" + qa.get(q).question() + "' -> '" + answer + "', expected '" + qa.get(q).answer() + "'");
          }
        }
      }
    }
    return new int[] {right, asked};
  }

  /**
   * Chat accuracy on held-out conversations ({@link SceneDialogues} of scenes from {@link #HELD_OUT_SEED}, the
   * conversations from their own seed): each reply comes from the model directory's chat model through
   * {@link VisionLanguageModels#load}, greedy, with the model's own earlier replies as the history, as the chat
   * worker and {@code bin/mmstream chat} hold it. A reply is right when its text without the stop token equals
   * the answer exactly; follow-ups (questions that say "it" for the previous turn's shape) are also scored alone.
   */
  public static ChatResult evaluateChat(Path chatDir, int conversationCount, int sceneSize) throws IOException {
    SceneGenerator generator = new SceneGenerator(HELD_OUT_SEED, sceneSize);
    SceneDialogues dialogues = new SceneDialogues(HELD_OUT_CONVERSATION_SEED);
    int turns = 0;
    int right = 0;
    int followUps = 0;
    int followUpsRight = 0;
    List<String> examples = new ArrayList<>();
    try (NDManager manager = NDManager.newBaseManager();
         VisionLanguageModel model = VisionLanguageModels.load(chatDir, manager)) {
      for (int c = 0; c < conversationCount; c++) {
        Scene scene = generator.next();
        PixelImage image = PixelImage.from(scene.image());
        List<ChatTurn> history = new ArrayList<>();
        for (SceneDialogues.Turn turn : dialogues.next(scene)) {
          GeneratedText reply = model.generate(List.of(new GenerationRequest(List.of(image), turn.question(), history)),
              DecodingOptions.greedy(CHAT_MAX_NEW_TOKENS)).get(0);
          history.add(new ChatTurn(turn.question(), reply.text()));
          String answer = chatAnswer(reply.text());
          boolean correct = answer.equals(turn.answer());
          turns++;
          right += correct ? 1 : 0;
          if (turn.followUp()) {
            followUps++;
            followUpsRight += correct ? 1 : 0;
          }
          if (!correct && examples.size() < 12) {
            examples.add("chat" + (turn.followUp() ? " follow-up" : "") + ": '" + turn.question() + "' -> '" + answer
                + "', expected '" + turn.answer() + "'");
          }
        }
      }
    }
    return new ChatResult(conversationCount, turns, (double) right / turns, followUps,
        followUps == 0 ? 0 : (double) followUpsRight / followUps, examples);
  }

  /** A reply's text as an answer: LLaVA keeps its stop token in the reply (the original's history form). */
  static String chatAnswer(String reply) {
    return reply.replace("</s>", "").strip();
  }

  /** The colour and shape words of {@code text}, in order. */
  static List<String> attributes(String text) {
    return Arrays.stream(text.toLowerCase(Locale.ROOT).split("[^a-z]+"))
        .filter(ATTRIBUTE_WORDS::contains)
        .collect(Collectors.toList());
  }

  private static Set<String> attributeWords() {
    Set<String> words = Arrays.stream(SceneGenerator.ShapeColor.values()).map(SceneGenerator.ShapeColor::word)
        .collect(Collectors.toSet());
    Arrays.stream(SceneGenerator.ShapeKind.values()).map(SceneGenerator.ShapeKind::word).forEach(words::add);
    return Set.copyOf(words);
  }
}

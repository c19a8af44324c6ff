package io.mmstream.demo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.demo.SceneGenerator;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipCaptioner;
import io.mmstream.model.blip.BlipQuestionAnswerer;
import io.mmstream.model.clip.ClipModel;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.clip.ClipTokenizer;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.llama.LlamaTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A few steps of the real training run (every model, full batches): the directories it writes load
 * through the ordinary checkpoint loaders (the chat model through the loader the chat worker uses), and the
 * same seed writes the same weights.
 */
class DemoTrainingTest {
  private static final double FEW_STEPS = 0.004;

  @Test
  void aShortRunWritesLoadableCheckpointsReproducibleFromItsSeed(@TempDir Path temp) throws Exception {
    Path first = temp.resolve("first");
    Path second = temp.resolve("second");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    ObjectNode record = DemoTraining.trainAll(first, 11, FEW_STEPS, new PrintStream(log, true, StandardCharsets.UTF_8));
    DemoTraining.trainAll(second, 11, FEW_STEPS, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));

    for (String stage : new String[] {"caption_and_vqa", "clip", "chat"}) {
      assertTrue(record.get(stage).get("steps").asInt() >= 1);
      assertTrue(Double.isFinite(record.get(stage).get("final_loss").asDouble()), stage + " loss");
    }
    for (String model : new String[] {"clip", "caption", "vqa", "chat"}) {
      assertArrayEquals(Files.readAllBytes(first.resolve(model).resolve("model.safetensors")),
          Files.readAllBytes(second.resolve(model).resolve("model.safetensors")), model + " weights differ between runs");
    }
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("clip: step") && log.toString(StandardCharsets.UTF_8).contains("blip: step")
        && log.toString(StandardCharsets.UTF_8).contains("chat: step"), "progress is printed");

    PixelImage image = PixelImage.from(new SceneGenerator(3, 128).next().image());
    try (NDManager manager = NDManager.newBaseManager();
         ClipModel clip = ClipModel.load(first.resolve("clip"), manager);
         ClipTokenizer tokenizer = ClipTokenizer.load(first.resolve("clip"), clip.config().textConfig().maxPositionEmbeddings());
         BlipCaptioner captioner = BlipCaptioner.load(first.resolve("caption"), manager);
         BlipQuestionAnswerer answerer = BlipQuestionAnswerer.load(first.resolve("vqa"), manager)) {
      assertEquals(1, tokenizer.encodeWithoutSpecialTokens("triangle").length);
      assertEquals(1, captioner.defaultOptions().generation().minLength(), "generation_config.json is honoured");
      assertEquals(1, captioner.caption(List.of(image), captioner.defaultOptions()).size());
      assertFalse(answerer.answer(image, List.of("how many shapes are there?"), List.of(), answerer.defaultOptions())
          .isEmpty());
    }
    // The chat directory opens through the loader every chat model goes through, as LLaVA, and answers a
    // follow-up with the history in its prompt.
    try (NDManager manager = NDManager.newBaseManager();
         VisionLanguageModel chat = VisionLanguageModels.load(first.resolve("chat"), manager)) {
      assertEquals("llava/llama", chat.modelType());
      assertTrue(chat.supportsHistory());
      GeneratedText reply = chat.generate(List.of(new GenerationRequest(List.of(image), "what colour is it?",
          List.of(new ChatTurn("where is the star?", "on the right</s>")))), DecodingOptions.greedy(4)).get(0);
      assertTrue(reply.ids().length >= 1 && reply.ids().length <= 4, "at most the tokens asked for");
      LlamaTokenizer tokenizer = LlamaTokenizer.open(first.resolve("chat"));
      String text = "where is the star? on the right</s>";
      long[] ids = tokenizer.encode(text);
      assertEquals(10, ids.length, "<s>, one piece per word and per question mark, </s>");
      assertEquals(text, tokenizer.decode(Arrays.copyOfRange(ids, 1, ids.length), false), "decoding gives the text back");
    }
  }
}

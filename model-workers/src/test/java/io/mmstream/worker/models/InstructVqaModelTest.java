package io.mmstream.worker.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageDecoder;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.PixelImage;
import io.mmstream.model.instructblip.InstructBlipAnswerer;
import io.mmstream.model.instructblip.InstructBlipOptions;
import io.mmstream.model.instructblip.InstructGeneration;
import io.mmstream.model.instructblip.InstructRequest;
import io.mmstream.schema.Answer;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskType;
import io.mmstream.schema.VqaTask;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.ModelSettings;
import io.mmstream.worker.ModelSource;
import io.mmstream.worker.TaskModel;
import io.mmstream.worker.TaskRejectedException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The instruct adapter on the tiny InstructBLIP fixture equals the answerer called directly. */
class InstructVqaModelTest {
  private static final Path DIR =
      Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "instructblip", "instructblip-tiny");

  @Test
  void batchedAnswersAndYesProbabilitiesEqualTheAnswererOnEachTask() throws Exception {
    Settings settings = Settings.of(Map.of(
        ModelSettings.INSTRUCT_MAX_NEW_TOKENS.key(), "6", ModelSettings.INSTRUCT_NUM_BEAMS.key(), "2"));
    List<Path> images;
    try (var files = Files.list(DIR.resolve("images"))) {
      images = files.filter(f -> f.toString().endsWith(".png")).sorted().limit(2).toList();
    }
    List<List<String>> questions = List.of(List.of("Is there a circle?", "What colour is it?"), List.of("Is it blue?"));
    List<TaskRequest> tasks = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      tasks.add(task("t" + i, Files.readAllBytes(images.get(i)), questions.get(i)));
    }
    ImageDecoder decoder = new ImageDecoder(ImageLimits.defaults());
    List<TaskOutputs> outputs;
    @SuppressWarnings("unchecked")
    TaskModel<Object> model = (TaskModel<Object>) new BuiltInModelFactory()
        .load(ModelKind.INSTRUCT, ModelSource.directory(DIR), Device.cpu(), false, settings);
    try (model) {
      List<Object> prepared = new ArrayList<>();
      for (TaskRequest task : tasks) {
        prepared.add(model.prepare(task, decoder.decode(Files.readAllBytes(images.get(tasks.indexOf(task))), null)));
      }
      outputs = model.runBatch(prepared);
      assertThatThrownBy(() -> model.prepare(task("none", Files.readAllBytes(images.get(0)), List.of()), null))
          .isInstanceOfSatisfying(TaskRejectedException.class, e -> assertThat(e.reasonCode()).isEqualTo("NO_QUESTIONS"));
      assertThat(model.info().getName()).isEqualTo("instructblip/instructblip-tiny");
    }

    InstructGeneration generation = new InstructGeneration(6, 1, 2, 1.5f, 1f, true, false);
    try (NDManager manager = NDManager.newBaseManager();
        InstructBlipAnswerer answerer = InstructBlipAnswerer.load(DIR, manager, InstructBlipOptions.defaults())) {
      for (int i = 0; i < tasks.size(); i++) {
        PixelImage image = decoder.decode(Files.readAllBytes(images.get(i)), null);
        List<InstructRequest> requests = questions.get(i).stream().map(q -> new InstructRequest(image, q)).toList();
        var direct = answerer.answer(requests, generation);
        double[] yes = answerer.yesProbabilities(requests);
        List<Answer> answers = outputs.get(i).getAnswers();
        assertThat(answers).hasSize(questions.get(i).size());
        for (int q = 0; q < answers.size(); q++) {
          assertThat(answers.get(q).getQuestion()).isEqualTo(questions.get(i).get(q));
          assertThat(answers.get(q).getAnswer()).isEqualTo(direct.get(q).text());
          assertThat((double) answers.get(q).getYesProbability()).isCloseTo(yes[q], within(1e-4));
          assertThat(answers.get(q).getCandidates()).isEmpty();
        }
      }
    }
  }

  private static TaskRequest task(String id, byte[] png, List<String> questions) {
    return new TaskRequest(id, "event-" + id, "image-" + id, "tenant-a", TaskType.VQA, new InlineImage(ByteBuffer.wrap(png)),
        null, null, null, new VqaTask(questions, List.of()), "hash-" + id, Instant.now(), Instant.now().plusSeconds(60));
  }
}

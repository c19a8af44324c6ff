package io.mmstream.worker.models;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.Answer;
import io.mmstream.schema.TaskOutputs;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A VQA task prepared for a generative model: one image and its questions. The models answer every question of a
 * batch as one row each, in batch order; {@link #outputs} puts the rows back into one TaskOutputs per task.
 */
record QuestionsAboutImage(PixelImage image, List<String> questions) {

  /** What warm-up runs: a blank image and one yes/no question. */
  static QuestionsAboutImage warmUpInput() {
    return new QuestionsAboutImage(new PixelImage(32, 32, 3, new byte[32 * 32 * 3]), List.of("is this a test?"));
  }

  /** One TaskOutputs per task from the answer text and P(yes) of each question row, rows in batch order. */
  static List<TaskOutputs> outputs(List<QuestionsAboutImage> batch, IntFunction<String> answerText, double[] yes) {
    List<TaskOutputs> outputs = new ArrayList<>(batch.size());
    int row = 0;
    for (QuestionsAboutImage input : batch) {
      List<Answer> taskAnswers = new ArrayList<>();
      for (String question : input.questions()) {
        taskAnswers.add(new Answer(question, answerText.apply(row), List.of(), (float) yes[row]));
        row++;
      }
      outputs.add(new TaskOutputs(List.of(), null, null, taskAnswers));
    }
    return outputs;
  }
}

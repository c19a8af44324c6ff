package io.mmstream.model.generation;

import java.util.List;

/**
 * What a VQA worker needs beyond generation: the original's question prompt, and the yes/no score moderation reads.
 */
public interface VisualQuestionAnswering {

  /** The prompt the original's VQA builds from a question (e.g. BLIP-2's "Question: {} Answer:"). */
  String questionPrompt(String question);

  /**
   * For each request (prompt already formatted), {@code P(yes) / (P(yes) + P(no))}: each the product of its tokens'
   * teacher-forced probabilities right after the prompt.
   */
  double[] yesProbabilities(List<GenerationRequest> requests);
}

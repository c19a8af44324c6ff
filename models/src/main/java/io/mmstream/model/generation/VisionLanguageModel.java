package io.mmstream.model.generation;

import java.util.List;

/**
 * A generative vision-language model as every caller sees it: {@code bin/mmstream generate}, {@code chat}, and the
 * workers. Each family (BLIP captioner, BLIP-2, InstructBLIP, the chat models) implements it over its own classes and
 * keeps its own prompt format, chat template, stop words and clean-up; {@code io.mmstream.model.auto} picks the family
 * from config.json.
 */
public interface VisionLanguageModel extends AutoCloseable {

  /** config.json's {@code model_type}, with the language model's where there is one, e.g. {@code blip-2/opt}. */
  String modelType();

  /** Whether prompts take a conversation history; models without chat ignore {@link GenerationRequest#history()}. */
  boolean supportsHistory();

  /** Generates for every request, in one batch where the model can; results in request order. */
  List<GeneratedText> generate(List<GenerationRequest> requests, DecodingOptions options);

  @Override
  void close();
}

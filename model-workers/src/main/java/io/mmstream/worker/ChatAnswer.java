package io.mmstream.worker;

/**
 * What a chat model answered for one ChatTask: the fields of its ChatReply that come from the model.
 *
 * @param droppedTurns oldest history turns left out so that the prompt fits the model's context
 */
public record ChatAnswer(String text, int droppedTurns, int promptTokens, int generatedTokens) {}

package io.mmstream.worker;

import io.mmstream.config.Setting;
import io.mmstream.config.Settings;
import io.mmstream.model.generation.GenerationConfig;

/**
 * How the models run inside a worker: decoding settings (defaults are the original implementations')
 * and cache sizes. Read by the model adapters through the worker's {@link io.mmstream.config.Settings}.
 */
public final class ModelSettings {
  private ModelSettings() {}

  public static final Setting<Integer> CLIP_LABEL_SET_CACHE = Setting.integer("mmstream.worker.clip.label-set-cache",
      256, "Label sets whose text embeddings a clip worker keeps (least recently used evicted)");
  public static final Setting<Integer> CLIP_TEXT_BATCH = Setting.integer("mmstream.worker.clip.text-batch", 64,
      "Prompts per text-tower pass when a new label set is encoded");
  public static final Setting<Integer> CAPTION_NUM_BEAMS = Setting.integer("mmstream.worker.caption.num-beams", 3,
      "Beams of caption generation (1: greedy); unset: the model's generation_config.json, else BLIP's 3");
  public static final Setting<Integer> CAPTION_MAX_LENGTH = Setting.integer("mmstream.worker.caption.max-length", 30,
      "Longest caption in tokens, prompt included; unset: generation_config.json, else BLIP's 30");
  public static final Setting<Integer> CAPTION_MIN_LENGTH = Setting.integer("mmstream.worker.caption.min-length", 10,
      "Shortest caption in tokens, prompt included; unset: generation_config.json, else BLIP's 10");
  public static final Setting<Integer> VQA_NUM_BEAMS = Setting.integer("mmstream.worker.vqa.num-beams", 3,
      "Beams of VQA answer generation (1: greedy); unset: generation_config.json, else BLIP's 3");
  public static final Setting<Integer> VQA_MAX_LENGTH = Setting.integer("mmstream.worker.vqa.max-length", 10,
      "Longest generated answer in tokens; unset: generation_config.json, else BLIP's 10");
  public static final Setting<Integer> VQA_MIN_LENGTH = Setting.integer("mmstream.worker.vqa.min-length", 1,
      "Shortest generated answer in tokens; unset: generation_config.json, else BLIP's 1");
  public static final Setting<Integer> VQA_RANK_TOP_K = Setting.integer("mmstream.worker.vqa.rank-top-k", 128,
      "Candidates rescored in rank mode (by first-token probability); BLIP's k_test 128");
  public static final Setting<Integer> INSTRUCT_NUM_BEAMS = Setting.integer("mmstream.worker.instruct.num-beams", 5,
      "Beams of InstructBLIP generation (1: greedy); LAVIS' default 5");
  public static final Setting<Integer> INSTRUCT_MAX_NEW_TOKENS = Setting.integer(
      "mmstream.worker.instruct.max-new-tokens", 256, "Most generated tokens per InstructBLIP answer; LAVIS' default 256");
  public static final Setting<Integer> INSTRUCT_MIN_NEW_TOKENS = Setting.integer(
      "mmstream.worker.instruct.min-new-tokens", 1, "Fewest generated tokens per InstructBLIP answer; LAVIS' default 1");
  public static final Setting<Double> INSTRUCT_REPETITION_PENALTY = Setting.decimal(
      "mmstream.worker.instruct.repetition-penalty", 1.5, "InstructBLIP repetition penalty (1: off); LAVIS' default 1.5");
  public static final Setting<Integer> CHAT_MAX_NEW_TOKENS = Setting.integer("mmstream.worker.chat.max-new-tokens", 256,
      "Most generated tokens per chat reply");
  public static final Setting<Integer> CHAT_NUM_BEAMS = Setting.integer("mmstream.worker.chat.num-beams", 1,
      "Beams of chat reply generation (1: greedy, as the chat models' own CLIs)");
  public static final Setting<Integer> CHAT_MAX_PROMPT_CHARS = Setting.integer("mmstream.worker.chat.max-prompt-chars",
      8192, "Longest user message a chat worker accepts, in characters (longer ones fail as PROMPT_TOO_LONG)");

  /**
   * {@code model}'s decoding settings (the original's, or its directory's generation_config.json)
   * with each of the three settings that is set in {@code settings} applied over them.
   */
  public static GenerationConfig decoding(GenerationConfig model, Settings settings, Setting<Integer> numBeams,
                                   Setting<Integer> maxLength, Setting<Integer> minLength) {
    GenerationConfig out = model;
    if (settings.raw(numBeams.key()).isPresent()) {
      out = out.withNumBeams(settings.get(numBeams));
    }
    if (settings.raw(maxLength.key()).isPresent()) {
      out = out.withMaxLength(settings.get(maxLength));
    }
    if (settings.raw(minLength.key()).isPresent()) {
      out = out.withMinLength(settings.get(minLength));
    }
    return out;
  }
}

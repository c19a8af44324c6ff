package io.mmstream.worker.models;

import ai.djl.Device;
import io.mmstream.config.Settings;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.ModelSource;
import io.mmstream.worker.WorkerModel;
import io.mmstream.worker.TaskModelFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.io.UncheckedIOException;
import java.util.EnumSet;
import java.util.Set;

/**
 * The models mmstream ships: CLIP tagging, BLIP captioning, BLIP VQA, InstructBLIP VQA and visual chat (any chat
 * model directory), from a Hugging Face checkpoint directory or (CLIP and BLIP) a random-weight preset; caption and
 * VQA workers also serve BLIP-2 (OPT, Flan-T5) directories and VQA workers InstructBLIP Flan-T5 ones. All run in
 * float32.
 */
public final class BuiltInModelFactory implements TaskModelFactory {

  @Override
  public Set<ModelKind> kinds() {
    return EnumSet.allOf(ModelKind.class);
  }

  /**
   * Whether {@code source} is a directory whose config.json names BLIP-2, or InstructBLIP with Flan-T5: the models
   * served through their {@link io.mmstream.model.generation.VisionLanguageModel}.
   */
  static boolean servedByQformerLlm(ModelSource source) throws IOException {
    if (source.directory() == null || !Files.isRegularFile(source.directory().resolve("config.json"))) {
      return false;
    }
    JsonNode config = new ObjectMapper().readTree(source.directory().resolve("config.json").toFile());
    String type = config.path("model_type").asText("");
    String text = config.path("text_config").path("model_type").asText("");
    return type.equals("blip-2") || (type.equals("instructblip") && text.equals("t5"));
  }

  @Override
  public WorkerModel<?, ?, ?> load(ModelKind kind, ModelSource source, Device device, boolean fp16, Settings settings) {
    if (fp16) {
      throw new IllegalArgumentException("the " + kind.id() + " model runs in float32 only; turn off float16");
    }
    try {
      return switch (kind) {
        case CLIP -> ClipTagModel.load(source, device, settings);
        case CAPTION -> servedByQformerLlm(source)
            ? VlmCaptionModel.load(source, device, settings)
            : BlipCaptionModel.load(source, device, settings);
        case VQA -> servedByQformerLlm(source)
            ? VlmVqaModel.load(source, device, settings)
            : BlipVqaModel.load(source, device, settings);
        case INSTRUCT -> InstructVqaModel.load(source, device, settings);
        case CHAT -> VisionChatModel.load(source, device, settings);
      };
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the " + kind.id() + " model from " + source, e);
    }
  }
}

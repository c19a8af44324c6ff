package io.mmstream.worker.models;

import ai.djl.Device;
import io.mmstream.config.Settings;
import io.mmstream.worker.ModelKind;
import io.mmstream.worker.ModelSource;
import io.mmstream.worker.WorkerModel;
import io.mmstream.worker.TaskModelFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.EnumSet;
import java.util.Set;

/**
 * The models mmstream ships: CLIP tagging, BLIP captioning, BLIP VQA, InstructBLIP VQA and visual chat (any
 * chat model directory), from a checkpoint directory or (CLIP and BLIP) a random-weight preset. All run in float32.
 */
public final class BuiltInModelFactory implements TaskModelFactory {

  @Override
  public Set<ModelKind> kinds() {
    return EnumSet.allOf(ModelKind.class);
  }

  @Override
  public WorkerModel<?, ?, ?> load(ModelKind kind, ModelSource source, Device device, boolean fp16, Settings settings) {
    if (fp16) {
      throw new IllegalArgumentException("the " + kind.id() + " model runs in float32 only; turn off float16");
    }
    try {
      return switch (kind) {
        case CLIP -> ClipTagModel.load(source, device, settings);
        case CAPTION -> BlipCaptionModel.load(source, device, settings);
        case VQA -> BlipVqaModel.load(source, device, settings);
        case INSTRUCT -> InstructVqaModel.load(source, device, settings);
        case CHAT -> VisionChatModel.load(source, device, settings);
      };
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the " + kind.id() + " model from " + source, e);
    }
  }
}

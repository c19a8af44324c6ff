package io.mmstream.worker.models;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.mmstream.config.Settings;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.ConversationTurn;
import io.mmstream.schema.ModelInfo;
import io.mmstream.worker.ChatAnswer;
import io.mmstream.worker.ModelSettings;
import io.mmstream.worker.ModelSource;
import io.mmstream.worker.TaskRejectedException;
import io.mmstream.worker.WorkerModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Any chat model {@link VisionLanguageModels} opens (LLaVA, VisualGLM, MiniGPT-4, Qwen-VL) answering ChatTask
 * turns: each turn's image, prompt and history become one {@link GenerationRequest}, and a batch of turns from
 * different conversations is one {@code generate} call. Families that decode one request at a time loop over the
 * batch inside {@code generate}; the batch then still shares one commit and keeps the device thread busy. The
 * model fits the history to its context and reports the turns it left out, which the reply carries.
 */
final class VisionChatModel implements WorkerModel<ChatTask, VisionChatModel.Input, ChatAnswer> {

  /** One turn ready to generate: host-side image and text only. */
  record Input(GenerationRequest request) {}

  private final NDManager manager;
  private final VisionLanguageModel model;
  private final ModelInfo info;
  private final String directoryName;
  private final DecodingOptions decoding;
  private final int maxPromptChars;

  private VisionChatModel(NDManager manager, VisionLanguageModel model, ModelInfo info, String directoryName,
      Settings settings) {
    this.manager = manager;
    this.model = model;
    this.info = info;
    this.directoryName = directoryName;
    this.decoding = new DecodingOptions(
        settings.get(ModelSettings.CHAT_MAX_NEW_TOKENS), settings.get(ModelSettings.CHAT_NUM_BEAMS), false, null);
    this.maxPromptChars = settings.get(ModelSettings.CHAT_MAX_PROMPT_CHARS);
  }

  static VisionChatModel load(ModelSource source, Device device, Settings settings) throws IOException {
    if (source.directory() == null) {
      throw new IllegalArgumentException("chat workers need a model directory; there is no random-weight preset");
    }
    return TaskModelSupport.loadWithManager(device, manager -> {
      VisionLanguageModel model = VisionLanguageModels.load(source.directory(), manager);
      if (!model.supportsHistory()) {
        model.close();
        throw new IllegalArgumentException(source.directory() + " holds a " + model.modelType()
            + " model, which takes no conversation history: not a chat model");
      }
      String family = model.modelType().split("/")[0];
      String directoryName = source.directory().toAbsolutePath().normalize().getFileName().toString();
      return new VisionChatModel(manager, model, ModelIdentity.of(family, source), directoryName, settings);
    });
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public Input prepare(ChatTask task, PixelImage image) throws TaskRejectedException {
    String wanted = task.getModel();
    if (wanted != null && !wanted.isBlank() && !wanted.equals(info.getName()) && !wanted.equals(directoryName)) {
      throw new TaskRejectedException("validate", "MODEL_NOT_SERVED",
          "model '" + wanted + "' asked for; this worker serves " + info.getName());
    }
    if (task.getPrompt().isBlank()) {
      throw new TaskRejectedException("validate", "EMPTY_PROMPT", "the chat message has no text");
    }
    if (task.getPrompt().length() > maxPromptChars) {
      throw new TaskRejectedException("validate", "PROMPT_TOO_LONG",
          task.getPrompt().length() + " characters exceed the limit of " + maxPromptChars);
    }
    List<ChatTurn> history = new ArrayList<>(task.getHistory().size());
    for (ConversationTurn turn : task.getHistory()) {
      history.add(new ChatTurn(turn.getUser(), turn.getAssistant()));
    }
    List<PixelImage> images = image == null ? List.of() : List.of(image);
    return new Input(new GenerationRequest(images, task.getPrompt(), history));
  }

  @Override
  public List<ChatAnswer> runBatch(List<Input> batch) {
    List<GenerationRequest> requests = batch.stream().map(Input::request).toList();
    List<ChatAnswer> answers = new ArrayList<>(batch.size());
    for (GeneratedText text : model.generate(requests, decoding)) {
      answers.add(new ChatAnswer(text.text(), text.droppedTurns(), text.promptIds().length, text.ids().length));
    }
    return answers;
  }

  /** Two generated tokens per turn: enough to run the vision tower, the prompt pass and a cached step. */
  @Override
  public void warmUp(int maxBatchSize) {
    PixelImage blank = new PixelImage(32, 32, 3, new byte[32 * 32 * 3]);
    for (int n : new int[] {1, maxBatchSize}) {
      List<GenerationRequest> requests = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        requests.add(GenerationRequest.of(blank, "what is this?"));
      }
      model.generate(requests, DecodingOptions.greedy(2));
    }
  }

  @Override
  public void close() {
    TaskModelSupport.closeWithManager(model::close, manager);
  }
}

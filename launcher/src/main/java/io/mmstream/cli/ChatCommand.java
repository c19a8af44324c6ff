package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bin/mmstream chat}: a conversation about an image, like the originals' {@code chat()} loops: each line
 * is a question, the reply is printed as its tokens arrive, and the history goes into the next prompt. Lines
 * starting with {@code /} are commands. Without a terminal it reads stdin line by line (scriptable). With
 * {@code --conversation} the conversation runs over Kafka instead: the stream app keeps its history and a chat
 * worker answers.
 */
@Command(
    name = "chat",
    mixinStandardHelpOptions = true,
    description = "Chat about an image with a visual chat model (--model: any directory `generate` opens whose model"
        + " takes a history), or over Kafka (-b BOOTSTRAP --conversation ID: the stream app keeps the history, chat"
        + " workers answer). Commands: /image FILE (switch image; with --model also a new conversation), /reset"
        + " (--model only: forget the history); Ctrl-D (end of input) ends.")
public final class ChatCommand implements Callable<Integer> {

  @Option(names = "--model", description = "Model directory (config.json picks the family).")
  Path model;

  @Option(names = "--image", description = "Image the conversation is about.")
  Path image;

  @Mixin ConfigOptions config;

  @Option(names = "--conversation", paramLabel = "ID", description = "Chat over Kafka in this conversation.")
  String conversation;

  @Option(names = "--tenant", defaultValue = "demo", description = "Tenant id over Kafka (default: ${DEFAULT-VALUE}).")
  String tenant;

  @Option(names = "--reply-timeout-ms", defaultValue = "180000",
      description = "Longest wait for a reply over Kafka (default: ${DEFAULT-VALUE}).")
  long replyTimeoutMs;

  @Option(names = "--max-new-tokens", description = "Most tokens per reply (default: the model's own).")
  Integer maxNewTokens;

  @Option(names = "--num-beams", description = "Beam search with N beams (default: greedy, streamed).")
  Integer numBeams;

  @Override
  public Integer call() throws Exception {
    if ((model == null) == (conversation == null)) {
      System.err.println("mmstream chat: give either --model DIR or --conversation ID (with -b BOOTSTRAP)");
      return 2;
    }
    if (conversation != null) {
      try (ConversationClient client = ConversationClient.open(config.settings(), tenant, conversation)) {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        new KafkaChatSession(client, image == null ? null : image.toString(), Duration.ofMillis(replyTimeoutMs))
            .run(in, System.out, System.console() != null);
      }
      return 0;
    }
    try (NDManager manager = NDManager.newBaseManager();
        VisionLanguageModel vlm = VisionLanguageModels.load(model, manager)) {
      if (!vlm.supportsHistory()) {
        System.err.println(model + ": " + vlm.modelType() + " takes no conversation history; use `generate`");
        return 2;
      }
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      ChatSession session = new ChatSession(vlm, new DecodingOptions(maxNewTokens, numBeams, false, null));
      if (image != null) {
        session.setImage(BlipCliSupport.readImage(image));
      }
      session.run(in, System.out, System.console() != null);
    }
    return 0;
  }

  /** The loop itself, over any reader and printer (tests drive it with strings). */
  static final class ChatSession {
    private final VisionLanguageModel model;
    private final DecodingOptions options;
    private final List<ChatTurn> history = new ArrayList<>();
    private PixelImage image;

    ChatSession(VisionLanguageModel model, DecodingOptions options) {
      this.model = model;
      this.options = options;
    }

    void setImage(PixelImage image) {
      this.image = image;
      history.clear();
    }

    /** Reads lines until end of input; with {@code interactive}, prompts for each. */
    void run(BufferedReader in, PrintStream out, boolean interactive) throws IOException {
      while (true) {
        if (interactive) {
          out.print("> ");
          out.flush();
        }
        String line = in.readLine();
        if (line == null) {
          if (interactive) {
            out.println();
          }
          return;
        }
        String text = line.strip();
        if (text.isEmpty()) {
          continue;
        }
        if (text.equals("/reset")) {
          history.clear();
          out.println("[history cleared]");
        } else if (text.startsWith("/image")) {
          String file = text.substring("/image".length()).strip();
          try {
            setImage(BlipCliSupport.readImage(Path.of(file)));
            out.println("[image " + file + "; new conversation]");
          } catch (IOException | RuntimeException e) {
            out.println("[cannot read image '" + file + "': " + e.getMessage() + "]");
          }
        } else if (text.startsWith("/")) {
          out.println("[unknown command " + text + "; /image FILE, /reset, Ctrl-D ends]");
        } else {
          ask(text, out);
        }
      }
    }

    private void ask(String question, PrintStream out) {
      List<PixelImage> images = image == null ? List.of() : List.of(image);
      GenerationRequest request = new GenerationRequest(images, question, history);
      boolean streamed = options.numBeams() == null || options.numBeams() == 1;
      DecodingOptions decoding = streamed ? options.withTextSink(piece -> {
        out.print(piece);
        out.flush();
      }) : options;
      GeneratedText reply;
      try {
        reply = model.generate(List.of(request), decoding).get(0);
      } catch (IllegalArgumentException e) {
        out.println("[" + e.getMessage() + "]");
        return;
      }
      if (!streamed) {
        out.print(reply.text());
      }
      out.println();
      if (reply.droppedTurns() > 0) {
        out.println("[the " + reply.droppedTurns() + " oldest turn(s) no longer fit the model's context and were "
            + "left out]");
        history.subList(0, reply.droppedTurns()).clear();
      }
      history.add(new ChatTurn(question, reply.text()));
    }

    List<ChatTurn> history() {
      return List.copyOf(history);
    }
  }

  /** The loop over Kafka: each line is one ChatMessage; the first carries the image, /image FILE switches it. */
  static final class KafkaChatSession {
    private final ConversationClient client;
    private final Duration timeout;
    private String pendingImage;

    KafkaChatSession(ConversationClient client, String image, Duration timeout) {
      this.client = client;
      this.pendingImage = image;
      this.timeout = timeout;
    }

    void run(BufferedReader in, PrintStream out, boolean interactive) throws Exception {
      while (true) {
        if (interactive) {
          out.print("> ");
          out.flush();
        }
        String line = in.readLine();
        if (line == null) {
          return;
        }
        String text = line.strip();
        if (text.isEmpty()) {
          continue;
        }
        if (text.startsWith("/image")) {
          pendingImage = text.substring("/image".length()).strip();
          out.println("[the next message carries image " + pendingImage + "]");
        } else if (text.startsWith("/")) {
          out.println("[unknown command " + text + "; /image FILE, Ctrl-D ends]");
        } else {
          ImageEvents.ImageSource image = null;
          if (pendingImage != null) {
            try {
              image = ImageEvents.imageSource(pendingImage);
            } catch (IOException | IllegalArgumentException e) {
              out.println("[cannot read image '" + pendingImage + "': " + e.getMessage() + "]");
              pendingImage = null;
              continue;
            }
          }
          try {
            out.println(RecordText.chatReplyText(client.ask(text, image, timeout)));
            pendingImage = null;
          } catch (TimeoutException e) {
            out.println("[" + e.getMessage() + "]");
          }
        }
      }
    }
  }
}

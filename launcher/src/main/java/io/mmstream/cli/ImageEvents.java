package io.mmstream.cli;

import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.RequestedTasks;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.VqaTask;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/** Builds the ImageEvents that {@code publish} and the demo send: a file inline, or a URL by reference. */
public final class ImageEvents {

  /** Which tasks to request: null parts are not requested. */
  public record Requested(TagTask tag, CaptionTask caption, VqaTask vqa) {
    public RequestedTasks toAvro() {
      return RequestedTasks.newBuilder().setTag(tag).setCaption(caption).setVqa(vqa).build();
    }
  }

  private ImageEvents() {}

  /**
   * Parses "tag,caption,vqa" into requested tasks: tags from {@code labelSet} (or inline
   * {@code labels}), captions with the model's default prompt, VQA with {@code questions}.
   */
  public static Requested requested(List<String> tasks, String labelSet, List<String> labels, List<String> questions,
      List<String> candidates) {
    TagTask tag = null;
    CaptionTask caption = null;
    VqaTask vqa = null;
    for (String t : tasks) {
      switch (t.trim().toLowerCase(Locale.ROOT)) {
        case "tag" -> tag = TagTask.newBuilder().setLabelSet(labels.isEmpty() ? labelSet : null).setLabels(labels).build();
        case "caption" -> caption = CaptionTask.newBuilder().build();
        case "vqa" -> {
          if (questions.isEmpty()) {
            throw new IllegalArgumentException("task vqa needs at least one --question");
          }
          vqa = VqaTask.newBuilder().setQuestions(questions).setCandidates(candidates).build();
        }
        default -> throw new IllegalArgumentException("unknown task '" + t + "' (tag, caption, vqa)");
      }
    }
    return new Requested(tag, caption, vqa);
  }

  /** An event for a local file (bytes inline) or an http(s)/file URL (by reference). */
  public static ImageEvent forSource(String fileOrUrl, String tenant, Requested tasks) throws IOException {
    String lower = fileOrUrl.toLowerCase(Locale.ROOT);
    if (lower.startsWith("http://") || lower.startsWith("https://") || lower.startsWith("file:")) {
      Object source = ImageUri.newBuilder().setUri(fileOrUrl).build();
      return event(fileOrUrl.substring(fileOrUrl.lastIndexOf('/') + 1), tenant, tasks, source, contentType(lower));
    }
    Path path = Path.of(fileOrUrl);
    return forSource(path.getFileName().toString(), tenant, tasks, Files.readAllBytes(path));
  }

  /** An event carrying {@code bytes} inline; the content type follows the name's extension. */
  public static ImageEvent forSource(String imageId, String tenant, Requested tasks, byte[] bytes) {
    Object source = InlineImage.newBuilder().setData(ByteBuffer.wrap(bytes)).build();
    return event(imageId, tenant, tasks, source, contentType(imageId.toLowerCase(Locale.ROOT)));
  }

  private static ImageEvent event(String imageId, String tenant, Requested tasks, Object source, String contentType) {
    return ImageEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setImageId(imageId)
        .setTenant(tenant)
        .setSource(source)
        .setContentType(contentType)
        .setTasks(tasks.toAvro())
        .setMetadata(Map.of())
        .setEventTime(Instant.now())
        .build();
  }

  private static String contentType(String name) {
    if (name.endsWith(".png")) {
      return "image/png";
    }
    if (name.endsWith(".jpg") || name.endsWith(".jpeg")) {
      return "image/jpeg";
    }
    if (name.endsWith(".gif")) {
      return "image/gif";
    }
    if (name.endsWith(".bmp")) {
      return "image/bmp";
    }
    if (name.endsWith(".webp")) {
      return "image/webp";
    }
    return null;
  }
}

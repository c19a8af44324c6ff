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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

  /** scheme://... (RFC 3986 scheme syntax); a Windows drive letter has no "//". */
  private static final Pattern URI_WITH_SCHEME = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*)://.*");

  /** An image as a record carries it: inline bytes or a URI, its content type (from the name) and an id. */
  public record ImageSource(Object source, String contentType, String imageId) {}

  /**
   * A local file (bytes inline) or an http(s)/file URL (by reference). The image id is the file name, or the URL's
   * last path segment, or "uri-" and the start of the URL's sha-256 when that segment is empty.
   *
   * @throws IllegalArgumentException for a URL of another scheme
   */
  public static ImageSource imageSource(String fileOrUrl) throws IOException {
    String lower = fileOrUrl.toLowerCase(Locale.ROOT);
    if (lower.startsWith("http://") || lower.startsWith("https://") || lower.startsWith("file:")) {
      Object source = ImageUri.newBuilder().setUri(fileOrUrl).build();
      String path = fileOrUrl.replaceFirst("[?#].*$", "");
      String lastSegment = path.substring(path.lastIndexOf('/') + 1);
      String imageId = lastSegment.isEmpty() ? "uri-" + sha256Hex(fileOrUrl).substring(0, 16) : lastSegment;
      return new ImageSource(source, contentType(lower), imageId);
    }
    Matcher scheme = URI_WITH_SCHEME.matcher(fileOrUrl);
    if (scheme.matches()) {
      throw new IllegalArgumentException("unsupported URI scheme '" + scheme.group(1) + "' in " + fileOrUrl
          + " (http, https, file, or a local file path)");
    }
    Path path = Path.of(fileOrUrl);
    return inline(path.getFileName().toString(), Files.readAllBytes(path));
  }

  /** {@code bytes} inline; the content type follows the name's extension. */
  public static ImageSource inline(String imageId, byte[] bytes) {
    return new ImageSource(InlineImage.newBuilder().setData(ByteBuffer.wrap(bytes)).build(),
        contentType(imageId.toLowerCase(Locale.ROOT)), imageId);
  }

  /**
   * An event for a local file (bytes inline) or an http(s)/file URL (by reference), see {@link #imageSource}.
   *
   * @throws IllegalArgumentException for a URL of another scheme
   */
  public static ImageEvent forSource(String fileOrUrl, String tenant, Requested tasks) throws IOException {
    ImageSource image = imageSource(fileOrUrl);
    return event(image.imageId(), tenant, tasks, image.source(), image.contentType());
  }

  /** An event carrying {@code bytes} inline; the content type follows the name's extension. */
  public static ImageEvent forSource(String imageId, String tenant, Requested tasks, byte[] bytes) {
    ImageSource image = inline(imageId, bytes);
    return event(imageId, tenant, tasks, image.source(), image.contentType());
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

  private static String sha256Hex(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
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

package io.mmstream.stream;

import io.mmstream.config.LabelSets;
import io.mmstream.config.Settings;
import io.mmstream.image.ImageRejectedException;
import io.mmstream.schema.CaptionTask;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.RequestedTasks;
import io.mmstream.schema.TagTask;
import io.mmstream.schema.VqaTask;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Checks one ImageEvent before any model runs: ids, tenant, requested tasks, label sets, question and
 * metadata limits, and the image source ({@link ImageSourceValidator}).
 */
public final class ImageEventValidator {

  public static final String MISSING_ID = "MISSING_ID";
  public static final String ID_TOO_LONG = "ID_TOO_LONG";
  public static final String BAD_TENANT = "BAD_TENANT";
  public static final String UNKNOWN_TENANT = "UNKNOWN_TENANT";
  public static final String NO_TASKS = "NO_TASKS";
  public static final String NO_LABELS = "NO_LABELS";
  public static final String UNKNOWN_LABEL_SET = "UNKNOWN_LABEL_SET";
  public static final String TOO_MANY_LABELS = "TOO_MANY_LABELS";
  public static final String LABEL_TOO_LONG = "LABEL_TOO_LONG";
  public static final String NO_QUESTIONS = "NO_QUESTIONS";
  public static final String TOO_MANY_QUESTIONS = "TOO_MANY_QUESTIONS";
  public static final String QUESTION_TOO_LONG = "QUESTION_TOO_LONG";
  public static final String METADATA_TOO_LARGE = "METADATA_TOO_LARGE";
  public static final String TOO_MANY_TEMPLATES = "TOO_MANY_TEMPLATES";

  private final ImageSourceValidator sources;
  private final TenantValidator tenants;
  private final LabelSets labelSets;
  private final int maxIdChars;
  private final int maxQuestions;
  private final int maxQuestionChars;
  private final int maxLabels;
  private final int maxLabelChars;
  private final int maxMetadataEntries;
  private final int maxMetadataBytes;
  private final int maxMetadataKeyChars;
  private final int maxMetadataValueChars;
  private final int maxTemplates;

  public ImageEventValidator(Settings settings, LabelSets labelSets) {
    this.sources = new ImageSourceValidator(settings);
    this.tenants = new TenantValidator(settings);
    this.labelSets = labelSets;
    this.maxIdChars = settings.get(StreamSettings.MAX_ID_CHARS);
    this.maxQuestions = settings.get(StreamSettings.MAX_QUESTIONS);
    this.maxQuestionChars = settings.get(StreamSettings.MAX_QUESTION_CHARS);
    this.maxLabels = settings.get(StreamSettings.MAX_LABELS);
    this.maxLabelChars = settings.get(StreamSettings.MAX_LABEL_CHARS);
    this.maxMetadataEntries = settings.get(StreamSettings.MAX_METADATA_ENTRIES);
    this.maxMetadataBytes = settings.get(StreamSettings.MAX_METADATA_BYTES);
    this.maxMetadataKeyChars = settings.get(StreamSettings.MAX_METADATA_KEY_CHARS);
    this.maxMetadataValueChars = settings.get(StreamSettings.MAX_METADATA_VALUE_CHARS);
    this.maxTemplates = settings.get(StreamSettings.MAX_TEMPLATES);
  }

  /** Thrown inside the checks; turned into {@link Validation.Invalid}. */
  private static final class Rejected extends Exception {
    final String reasonCode;

    Rejected(String reasonCode, String message) {
      super(message, null, false, false);
      this.reasonCode = reasonCode;
    }
  }

  public Validation validate(ImageEvent event) {
    try {
      checkIds(event);
      checkTenant(event.getTenant());
      TagTask resolvedTag = checkTasks(event);
      checkMetadata(event.getMetadata());
      String hash = sources.check(event.getSource(), event.getContentType());
      // Shallow copies: a builder made from a record deep-copies every field, the image bytes included.
      RequestedTasks asked = event.getTasks();
      RequestedTasks tasks = new RequestedTasks(resolvedTag, asked.getCaption(), asked.getVqa());
      return new Validation.Valid(new ImageEvent(event.getEventId(), event.getImageId(), event.getTenant(),
          event.getSource(), event.getContentType(), tasks, event.getMetadata(), event.getEventTime()), hash);
    } catch (Rejected r) {
      return new Validation.Invalid(r.reasonCode, r.getMessage());
    } catch (ImageRejectedException e) {
      return new Validation.Invalid(e.reasonCode(), e.getMessage());
    }
  }

  private void checkIds(ImageEvent e) throws Rejected {
    for (var id : List.of(Map.entry("eventId", nullToEmpty(e.getEventId())), Map.entry("imageId", nullToEmpty(e.getImageId())))) {
      if (id.getValue().isBlank()) {
        throw new Rejected(MISSING_ID, id.getKey() + " is empty");
      }
      if (id.getValue().length() > maxIdChars) {
        throw new Rejected(ID_TOO_LONG, id.getKey() + " has " + id.getValue().length() + " chars, over " + maxIdChars);
      }
    }
  }

  private void checkTenant(String tenant) throws Rejected {
    var invalid = tenants.check(tenant);
    if (invalid.isPresent()) {
      throw new Rejected(invalid.get().reasonCode(), invalid.get().message());
    }
  }

  private TagTask checkTasks(ImageEvent e) throws Rejected {
    RequestedTasks t = e.getTasks();
    if (t == null || (t.getTag() == null && t.getCaption() == null && t.getVqa() == null)) {
      throw new Rejected(NO_TASKS, "no task requested");
    }
    if (t.getCaption() != null) {
      checkCaption(t.getCaption());
    }
    if (t.getVqa() != null) {
      checkVqa(t.getVqa());
    }
    return t.getTag() == null ? null : resolveTag(e.getTenant(), t.getTag());
  }

  private void checkCaption(CaptionTask caption) throws Rejected {
    if (caption.getPrompt() != null && caption.getPrompt().length() > maxQuestionChars) {
      throw new Rejected(QUESTION_TOO_LONG, "caption prompt has " + caption.getPrompt().length() + " chars, over "
          + maxQuestionChars);
    }
  }

  private void checkVqa(VqaTask vqa) throws Rejected {
    List<String> questions = vqa.getQuestions();
    if (questions.isEmpty() || questions.stream().allMatch(String::isBlank)) {
      throw new Rejected(NO_QUESTIONS, "VQA task without questions");
    }
    if (questions.size() > maxQuestions) {
      throw new Rejected(TOO_MANY_QUESTIONS, questions.size() + " questions, over " + maxQuestions);
    }
    for (String q : concat(questions, vqa.getCandidates())) {
      if (q.length() > maxQuestionChars) {
        throw new Rejected(QUESTION_TOO_LONG, "a question or candidate has " + q.length() + " chars, over "
            + maxQuestionChars);
      }
    }
    if (vqa.getCandidates().size() > maxLabels) {
      throw new Rejected(TOO_MANY_LABELS, vqa.getCandidates().size() + " candidates, over " + maxLabels);
    }
  }

  private TagTask resolveTag(String tenant, TagTask tag) throws Rejected {
    List<String> labels = tag.getLabels();
    List<String> templates = tag.getTemplates();
    if (tag.getLabelSet() != null) {
      var set = labelSets.find(tenant, tag.getLabelSet()).orElseThrow(() ->
          new Rejected(UNKNOWN_LABEL_SET, "label set '" + abbreviate(tag.getLabelSet()) + "' is not configured for tenant "
              + tenant));
      labels = set.labels();
      templates = set.templates();
    }
    if (labels.isEmpty()) {
      throw new Rejected(NO_LABELS, "tag task names neither a label set nor labels");
    }
    if (labels.size() > maxLabels) {
      throw new Rejected(TOO_MANY_LABELS, labels.size() + " labels, over " + maxLabels);
    }
    if (templates.size() > maxTemplates) {
      throw new Rejected(TOO_MANY_TEMPLATES, templates.size() + " templates, over " + maxTemplates);
    }
    for (String l : concat(labels, templates)) {
      if (l.isBlank() || l.length() > maxLabelChars) {
        throw new Rejected(LABEL_TOO_LONG, "a label or template is empty or over " + maxLabelChars + " chars");
      }
    }
    return new TagTask(tag.getLabelSet(), labels, tag.getTopK(), templates);
  }

  private void checkMetadata(Map<String, String> metadata) throws Rejected {
    if (metadata.size() > maxMetadataEntries) {
      throw new Rejected(METADATA_TOO_LARGE, metadata.size() + " metadata entries, over"
          + " mmstream.validate.max-metadata-entries=" + maxMetadataEntries);
    }
    long bytes = 0;
    for (var e : metadata.entrySet()) {
      if (e.getKey().length() > maxMetadataKeyChars) {
        throw new Rejected(METADATA_TOO_LARGE, "metadata key '" + abbreviate(e.getKey()) + "' has " + e.getKey().length()
            + " chars, over mmstream.validate.max-metadata-key-chars=" + maxMetadataKeyChars);
      }
      if (e.getValue().length() > maxMetadataValueChars) {
        throw new Rejected(METADATA_TOO_LARGE, "metadata value of '" + abbreviate(e.getKey()) + "' has "
            + e.getValue().length() + " chars, over mmstream.validate.max-metadata-value-chars=" + maxMetadataValueChars);
      }
      bytes += e.getKey().getBytes(StandardCharsets.UTF_8).length + e.getValue().getBytes(StandardCharsets.UTF_8).length;
    }
    if (bytes > maxMetadataBytes) {
      throw new Rejected(METADATA_TOO_LARGE, "metadata holds " + bytes + " bytes, over"
          + " mmstream.validate.max-metadata-bytes=" + maxMetadataBytes);
    }
  }

  static String sha256(byte[] bytes) {
    return ImageSourceValidator.sha256(bytes);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return Stream.concat(a.stream(), b.stream()).toList();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String abbreviate(String s) {
    return TenantValidator.abbreviate(s);
  }
}

package io.mmstream.stream;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.config.SettingsException;
import io.mmstream.schema.Answer;
import io.mmstream.schema.CategoryScore;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.LabelScore;
import io.mmstream.schema.MissingTask;
import io.mmstream.schema.ModerationAction;
import io.mmstream.schema.ModerationDecision;
import io.mmstream.schema.TaskResult;
import io.mmstream.schema.TaskType;
import java.io.File;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Moderation policies per tenant (with a default), from a JSON file:
 *
 * <pre>{@code
 * {"default": {"version": "2026-11-01", "onMissing": "REVIEW", "categories": [
 *     {"name": "weapons", "labels": ["a gun", "a knife"], "questions": ["is there a weapon in the image?"],
 *      "review": 0.5, "block": 0.8}]},
 *  "tenants": {"kids-app": {"version": "k-3", "categories": [...]}}}
 * }</pre>
 *
 * A category's score is the highest of its signals: the CLIP probability of each of its labels in the
 * image's tag results, and P(yes) of each of its questions in the VQA answers (questions match
 * case-insensitively). Score ≥ block → BLOCK, ≥ review → REVIEW, else ALLOW; the image's action is the
 * strictest category's. Labels and questions only count when the request asked for them (a tenant
 * puts its moderation labels in its label sets); a category without any signal scores 0 and says so
 * in the reasons, or takes {@code noSignalAction} when the policy sets one.
 *
 * <p>Fail closed: when a task a category reads (TAG for labels, VQA for questions) was requested but
 * is missing from the enrichment (fetch or decode failure, model failure, deadline), the category's
 * action is at least the policy's {@code onMissing} (default REVIEW; ALLOW is refused), and the
 * reasons name each missing task and why. ALLOW is never given on missing evidence.
 */
public final class ModerationPolicy {

  public record Category(
      @JsonProperty("name") String name,
      @JsonProperty("labels") List<String> labels,
      @JsonProperty("questions") List<String> questions,
      @JsonProperty("review") double review,
      @JsonProperty("block") double block) {}

  public record TenantPolicy(
      @JsonProperty("version") String version,
      @JsonProperty("categories") List<Category> categories,
      @JsonProperty("noSignalAction") ModerationAction noSignalAction,
      @JsonProperty("onMissing") @JsonAlias("on_missing") ModerationAction onMissing) {

    /** What a category whose evidence is missing gets at least. */
    public ModerationAction missingAction() {
      return onMissing == null ? ModerationAction.REVIEW : onMissing;
    }
  }

  private record FileJson(
      @JsonProperty("default") TenantPolicy defaultPolicy, @JsonProperty("tenants") Map<String, TenantPolicy> tenants) {}

  private static final TenantPolicy NONE = new TenantPolicy("none", List.of(), null, null);

  private final TenantPolicy defaultPolicy;
  private final Map<String, TenantPolicy> tenants;

  private ModerationPolicy(TenantPolicy defaultPolicy, Map<String, TenantPolicy> tenants) {
    this.defaultPolicy = defaultPolicy == null ? NONE : defaultPolicy;
    this.tenants = tenants == null ? Map.of() : Map.copyOf(tenants);
    check("default", this.defaultPolicy);
    this.tenants.forEach(ModerationPolicy::check);
  }

  /** No categories: every image is allowed, under policy version "none". */
  public static ModerationPolicy none() {
    return new ModerationPolicy(NONE, Map.of());
  }

  public static ModerationPolicy parse(String json) {
    try {
      FileJson f = mapper().readValue(json, FileJson.class);
      return new ModerationPolicy(f.defaultPolicy(), f.tenants());
    } catch (IOException e) {
      throw new SettingsException("cannot parse moderation policy: " + e.getMessage(), e);
    }
  }

  /** The policy file at {@code path}, or {@link #none()} when the path is empty. */
  public static ModerationPolicy loadOrNone(String path) {
    if (path == null || path.isBlank()) {
      return none();
    }
    try {
      FileJson f = mapper().readValue(new File(path), FileJson.class);
      return new ModerationPolicy(f.defaultPolicy(), f.tenants());
    } catch (IOException e) {
      throw new SettingsException("cannot read moderation policy " + path + ": " + e.getMessage(), e);
    }
  }

  public TenantPolicy forTenant(String tenant) {
    return tenants.getOrDefault(tenant, defaultPolicy);
  }

  public ModerationDecision decide(EnrichedImage image, Instant now) {
    TenantPolicy policy = forTenant(image.getTenant());
    List<CategoryScore> scores = new ArrayList<>();
    List<String> reasons = new ArrayList<>();
    ModerationAction overall = ModerationAction.ALLOW;
    for (Category c : policy.categories()) {
      Signal best = strongestSignal(c, image.getResults());
      List<MissingTask> missingEvidence = image.getMissing().stream().filter(m -> reads(c, m.getTask())).toList();
      ModerationAction action;
      if (!missingEvidence.isEmpty()) {
        ModerationAction fromSignals = best == null ? ModerationAction.ALLOW : actionFor(c, best.score);
        action = fromSignals.ordinal() > policy.missingAction().ordinal() ? fromSignals : policy.missingAction();
        reasons.add(c.name() + ": missing " + String.join("; ", missingEvidence.stream()
            .map(m -> m.getTask() + " (" + m.getReason() + ")").toList())
            + (best == null ? "" : String.format(Locale.ROOT, "; %.3f from %s", best.score, best.source))
            + " -> " + action);
      } else if (best == null) {
        action = policy.noSignalAction() == null ? ModerationAction.ALLOW : policy.noSignalAction();
        reasons.add(c.name() + ": no signal (none of its labels or questions in the results)"
            + (action == ModerationAction.ALLOW ? "" : " -> " + action));
      } else {
        action = actionFor(c, best.score);
        if (action != ModerationAction.ALLOW) {
          reasons.add(String.format(Locale.ROOT, "%s: %.3f from %s -> %s", c.name(), best.score, best.source, action));
        }
      }
      scores.add(new CategoryScore(c.name(), best == null ? 0f : best.score, action));
      if (action.ordinal() > overall.ordinal()) {
        overall = action;
      }
    }
    return ModerationDecision.newBuilder()
        .setEventId(image.getEventId())
        .setImageId(image.getImageId())
        .setTenant(image.getTenant())
        .setCategories(scores)
        .setAction(overall)
        .setPolicyVersion(policy.version())
        .setReasons(reasons)
        .setDecidedAt(now)
        .build();
  }

  private static ModerationAction actionFor(Category c, float score) {
    return score >= c.block() ? ModerationAction.BLOCK : score >= c.review() ? ModerationAction.REVIEW : ModerationAction.ALLOW;
  }

  /** Whether the category reads the task's output: labels from TAG, questions from VQA. */
  private static boolean reads(Category c, TaskType task) {
    return task == TaskType.TAG && c.labels() != null && !c.labels().isEmpty()
        || task == TaskType.VQA && c.questions() != null && !c.questions().isEmpty();
  }

  private record Signal(float score, String source) {}

  private static Signal strongestSignal(Category c, List<TaskResult> results) {
    Signal best = null;
    for (TaskResult r : results) {
      if (r.getFailure() != null) {
        continue;
      }
      if (r.getTask() == TaskType.TAG && c.labels() != null) {
        for (LabelScore l : r.getOutputs().getLabels()) {
          if (c.labels().contains(l.getLabel()) && (best == null || l.getProbability() > best.score)) {
            best = new Signal(l.getProbability(), "label '" + l.getLabel() + "'");
          }
        }
      }
      if (r.getTask() == TaskType.VQA && c.questions() != null) {
        for (Answer a : r.getOutputs().getAnswers()) {
          Float yes = a.getYesProbability();
          if (yes != null && matchesAny(a.getQuestion(), c.questions()) && (best == null || yes > best.score)) {
            best = new Signal(yes, "question '" + a.getQuestion() + "'");
          }
        }
      }
    }
    return best;
  }

  private static boolean matchesAny(String question, List<String> questions) {
    String q = question.strip().toLowerCase(Locale.ROOT);
    return questions.stream().anyMatch(p -> p.strip().toLowerCase(Locale.ROOT).equals(q));
  }

  private static void check(String tenant, TenantPolicy p) {
    if (p.version() == null || p.version().isBlank()) {
      throw new SettingsException("moderation policy of " + tenant + " has no version");
    }
    if (p.categories() == null) {
      throw new SettingsException("moderation policy of " + tenant + " has no categories list");
    }
    if (p.onMissing() == ModerationAction.ALLOW) {
      throw new SettingsException("moderation policy of " + tenant
          + ": onMissing must be REVIEW or BLOCK (ALLOW on missing evidence is refused: it would pass images nobody saw)");
    }
    for (Category c : p.categories()) {
      if (!(c.review() > 0 && c.review() <= c.block() && c.block() <= 1)) {
        throw new SettingsException("moderation policy of " + tenant + ", category " + c.name()
            + ": need 0 < review <= block <= 1, got review " + c.review() + ", block " + c.block());
      }
    }
  }

  private static ObjectMapper mapper() {
    return new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }
}

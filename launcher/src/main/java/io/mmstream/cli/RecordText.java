package io.mmstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mmstream.schema.Answer;
import io.mmstream.schema.CategoryScore;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.LabelScore;
import io.mmstream.schema.MissingTask;
import io.mmstream.schema.ModerationDecision;
import io.mmstream.schema.TaskOutputs;
import io.mmstream.schema.TaskResult;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.IndexedRecord;

/** How records are shown to people: one readable line each, or one JSON object each. */
public final class RecordText {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private RecordText() {}

  public static String line(Object record) {
    if (record instanceof EnrichedImage e) {
      return enriched(e);
    }
    if (record instanceof ModerationDecision m) {
      return moderation(m);
    }
    if (record instanceof DeadLetter d) {
      // an undecodable record has no tenant or event id yet: its key is what names it
      String subject = d.getEventId() == null && d.getOriginalKey() != null
          ? "key " + StandardCharsets.UTF_8.decode(d.getOriginalKey().duplicate())
          : d.getTenant() + "/" + d.getEventId();
      return "DLQ       " + subject + "  stage=" + d.getStage() + " reason=" + d.getReasonCode() + "  "
          + d.getMessage();
    }
    if (record instanceof ChatReply r) {
      return "CHAT      " + r.getTenant() + "/" + r.getConversationId() + " #" + r.getTurn() + "  "
          + chatReplyText(r);
    }
    return String.valueOf(record);
  }

  /** A chat reply's text, or its failure; with the oldest turns the model's input left out, if any. */
  public static String chatReplyText(ChatReply r) {
    String text = r.getFailure() == null ? r.getText()
        : "[failed: " + r.getFailure().getReasonCode() + " " + r.getFailure().getMessage() + "]";
    return r.getDroppedTurns() > 0 ? text + "  [" + r.getDroppedTurns() + " oldest turn(s) left out of the history]"
        : text;
  }

  private static String enriched(EnrichedImage e) {
    StringBuilder sb = new StringBuilder("ENRICHED  ")
        .append(e.getTenant()).append('/').append(e.getImageId())
        .append(e.getComplete() ? "" : "  (partial)")
        .append(e.getReusedFrom() != null ? "  (repost of " + e.getReusedFrom() + ")" : "");
    for (TaskResult r : e.getResults()) {
      TaskOutputs o = r.getOutputs();
      if (r.getFailure() != null) {
        sb.append("\n    ").append(task(r)).append(": failed ").append(r.getFailure().getReasonCode());
        continue;
      }
      if (!o.getLabels().isEmpty()) {
        List<String> tags = new ArrayList<>();
        for (LabelScore l : o.getLabels()) {
          tags.add(String.format(Locale.ROOT, "%s %.2f", l.getLabel(), l.getProbability()));
        }
        sb.append("\n    tags: ").append(String.join(", ", tags));
      }
      if (o.getCaption() != null) {
        sb.append("\n    caption: \"").append(o.getCaption()).append('"');
      }
      for (Answer a : o.getAnswers()) {
        sb.append("\n    Q: ").append(a.getQuestion()).append("  A: ").append(a.getAnswer());
        // Every answer carries P(yes) for moderation; shown only where the answer is yes or no (--json has all).
        if (a.getYesProbability() != null && (a.getAnswer().equals("yes") || a.getAnswer().equals("no"))) {
          sb.append(String.format(Locale.ROOT, "  (P(yes)=%.2f)", a.getYesProbability()));
        }
      }
      sb.append(String.format(Locale.ROOT, "   [%s %s, batch %d, %d ms]", r.getModel().getName(), task(r),
          r.getBatchSize(), r.getTimings().getTotalMs()));
    }
    for (MissingTask m : e.getMissing()) {
      sb.append("\n    missing ").append(m.getTask().name().toLowerCase(Locale.ROOT)).append(": ").append(m.getReason());
    }
    return sb.toString();
  }

  private static String task(TaskResult r) {
    return r.getTask().name().toLowerCase(Locale.ROOT);
  }

  private static String moderation(ModerationDecision m) {
    List<String> scores = new ArrayList<>();
    for (CategoryScore c : m.getCategories()) {
      scores.add(String.format(Locale.ROOT, "%s %.2f", c.getCategory(), c.getScore()));
    }
    return "MODERATE  " + m.getTenant() + "/" + m.getImageId() + "  " + m.getAction() + "  [" + String.join(", ", scores)
        + "]  policy " + m.getPolicyVersion();
  }

  /** The record as one JSON object: unions unwrapped, bytes as their length, enums as names. */
  public static String json(IndexedRecord record) {
    try {
      return JSON.writeValueAsString(toJson(record));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode toJson(Object value) {
    if (value == null) {
      return NODES.nullNode();
    }
    if (value instanceof IndexedRecord r) {
      ObjectNode node = NODES.objectNode();
      for (Schema.Field f : r.getSchema().getFields()) {
        node.set(f.name(), toJson(r.get(f.pos())));
      }
      return node;
    }
    if (value instanceof Collection<?> c) {
      ArrayNode array = NODES.arrayNode();
      c.forEach(v -> array.add(toJson(v)));
      return array;
    }
    if (value instanceof Map<?, ?> m) {
      ObjectNode node = NODES.objectNode();
      m.forEach((k, v) -> node.set(String.valueOf(k), toJson(v)));
      return node;
    }
    if (value instanceof ByteBuffer b) {
      return NODES.textNode("<" + b.remaining() + " bytes>");
    }
    if (value instanceof Float f) {
      return NODES.numberNode(f);
    }
    if (value instanceof Double d) {
      return NODES.numberNode(d);
    }
    if (value instanceof Integer i) {
      return NODES.numberNode(i);
    }
    if (value instanceof Long l) {
      return NODES.numberNode(l);
    }
    if (value instanceof Boolean b) {
      return NODES.booleanNode(b);
    }
    if (value instanceof java.time.Instant t) {
      return NODES.textNode(t.toString());
    }
    if (value instanceof Enum<?> || value instanceof GenericEnumSymbol<?>) {
      return NODES.textNode(value.toString());
    }
    return NODES.textNode(value.toString());
  }
}

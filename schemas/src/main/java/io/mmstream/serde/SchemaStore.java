package io.mmstream.serde;

import io.mmstream.schema.AcceptedImage;
import io.mmstream.schema.ChatMessage;
import io.mmstream.schema.ChatReply;
import io.mmstream.schema.ChatTask;
import io.mmstream.schema.ConversationState;
import io.mmstream.schema.DeadLetter;
import io.mmstream.schema.EnrichedImage;
import io.mmstream.schema.ImageEvent;
import io.mmstream.schema.ModerationDecision;
import io.mmstream.schema.PendingEnrichment;
import io.mmstream.schema.TaskRequest;
import io.mmstream.schema.TaskResult;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Writer schemas by fingerprint (CRC-64-AVRO of the parsing canonical form, as in the single-object
 * encoding header). It knows every generated record's current schema, every historical version kept
 * under {@code io/mmstream/schema/history/} (listed in {@code index.txt}), and optionally every
 * {@code *.avsc} in a directory ({@code mmstream.schemas.extra-path}).
 *
 * <p>Old reader, new writer: deploy the new version's {@code .avsc} to the readers' extra directory
 * (or ship it in their history) before the first producer writes it; readers then resolve it against
 * their own reader schema.
 */
public final class SchemaStore implements org.apache.avro.message.SchemaStore {

  /** Every top-level record that travels on a topic or sits in a state store. */
  public static final List<Class<? extends SpecificRecord>> RECORD_TYPES = List.of(
      ImageEvent.class, TaskRequest.class, TaskResult.class, EnrichedImage.class, ModerationDecision.class,
      DeadLetter.class, AcceptedImage.class, PendingEnrichment.class, ChatTask.class, ChatReply.class,
      ChatMessage.class, ConversationState.class);

  static final String HISTORY_DIR = "/io/mmstream/schema/history/";

  private static final SchemaStore STANDARD = new SchemaStore().registerCurrent().registerHistory();

  private final Map<Long, Schema> byFingerprint = new ConcurrentHashMap<>();

  private SchemaStore() {}

  /** Current and historical schemas of the generated records (shared, read-only use). */
  public static SchemaStore standard() {
    return STANDARD;
  }

  /** Current and historical schemas, plus every {@code *.avsc} in {@code dir} (if not blank). */
  public static SchemaStore withExtraDirectory(String dir) {
    SchemaStore store = new SchemaStore().registerCurrent().registerHistory();
    if (dir != null && !dir.isBlank()) {
      store.registerDirectory(Path.of(dir));
    }
    return store;
  }

  /** An empty store, for tests of what happens when a schema is unknown. */
  public static SchemaStore empty() {
    return new SchemaStore();
  }

  public static long fingerprint(Schema schema) {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  public SchemaStore register(Schema schema) {
    byFingerprint.put(fingerprint(schema), schema);
    return this;
  }

  @Override
  public Schema findByFingerprint(long fingerprint) {
    return byFingerprint.get(fingerprint);
  }

  public boolean knows(long fingerprint) {
    return byFingerprint.containsKey(fingerprint);
  }

  /** The fingerprints (16 hex digits, sorted) of every schema this store knows for the named record. */
  public List<String> fingerprintsOf(String recordFullName) {
    return byFingerprint.entrySet().stream()
        .filter(e -> e.getValue().getFullName().equals(recordFullName))
        .map(e -> String.format("%016x", e.getKey()))
        .sorted()
        .toList();
  }

  /** Historical schemas of one record, oldest first, as kept in the history resources. */
  public static List<Schema> history(String recordName) {
    return historyFiles().stream()
        .filter(f -> f.startsWith(recordName + "-v"))
        .map(SchemaStore::readHistory)
        .toList();
  }

  private SchemaStore registerCurrent() {
    for (Class<? extends SpecificRecord> type : RECORD_TYPES) {
      register(SpecificData.get().getSchema(type));
    }
    return this;
  }

  private SchemaStore registerHistory() {
    for (String file : historyFiles()) {
      register(readHistory(file));
    }
    return this;
  }

  private void registerDirectory(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".avsc")).sorted().toList()) {
        register(new Schema.Parser().parse(f.toFile()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read schemas from " + dir, e);
    }
  }

  private static List<String> historyFiles() {
    try (InputStream in = SchemaStore.class.getResourceAsStream(HISTORY_DIR + "index.txt")) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + HISTORY_DIR + "index.txt");
      }
      return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines()
          .map(String::strip)
          .filter(l -> !l.isEmpty() && !l.startsWith("#"))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Schema readHistory(String file) {
    try (InputStream in = SchemaStore.class.getResourceAsStream(HISTORY_DIR + file)) {
      if (in == null) {
        throw new IllegalStateException("index.txt lists " + file + " but the resource is missing");
      }
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

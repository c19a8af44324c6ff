package io.mmstream.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Configuration values from a properties file, overridden by environment variables with the same
 * keys, read through typed {@link Setting} declarations.
 *
 * <p>Environment form of a key: {@link #envName}, e.g. {@code mmstream.images.max-inline-bytes} →
 * {@code MMSTREAM_IMAGES_MAX_INLINE_BYTES}, {@code kafka.sasl.jaas.config} →
 * {@code MMSTREAM_KAFKA_SASL_JAAS_CONFIG}. A variable named {@code <ENV>_FILE} supplies the value of
 * {@code <ENV>} from a file (mounted secrets). Values are stored under the environment form, so a key
 * from the file and its environment variable are the same entry; the original dotted key is kept
 * for pass-through groups such as {@code kafka.ssl.*}.
 */
public final class Settings {

  private static final Pattern SECRET_KEY =
      Pattern.compile("(?i).*(password|secret|jaas\\.config|credentials|token|ssl\\.keystore\\.key|private).*");
  private static final String ENV_PREFIX = "MMSTREAM_";
  private static final String FILE_SUFFIX = "_FILE";

  /** Environment form of a key → (dotted key, value). */
  private final Map<String, Entry> values;

  private record Entry(String key, String value, String source) {}

  private Settings(Map<String, Entry> values) {
    this.values = Map.copyOf(values);
  }

  public static Settings empty() {
    return new Settings(Map.of());
  }

  /** Values given in code (tests, embedded runs). */
  public static Settings of(Map<String, String> values) {
    Map<String, Entry> map = new HashMap<>();
    values.forEach((k, v) -> map.put(envName(k), new Entry(k, v, "code")));
    return new Settings(map);
  }

  /** The process configuration: the properties file (if given), then the process environment. */
  public static Settings load(Path propertiesFile) {
    return load(propertiesFile, System.getenv());
  }

  /** The properties file (nullable), then {@code env} overriding it. */
  public static Settings load(Path propertiesFile, Map<String, String> env) {
    Map<String, Entry> map = new HashMap<>();
    if (propertiesFile != null) {
      Properties props = new Properties();
      try (Reader r = Files.newBufferedReader(propertiesFile, StandardCharsets.UTF_8)) {
        props.load(r);
      } catch (IOException e) {
        throw new SettingsException("cannot read settings file " + propertiesFile + ": " + e.getMessage(), e);
      }
      for (String k : props.stringPropertyNames()) {
        map.put(envName(k), new Entry(k, props.getProperty(k), propertiesFile.toString()));
      }
    }
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith(ENV_PREFIX)) {
        continue;
      }
      if (name.endsWith(FILE_SUFFIX)) {
        String target = name.substring(0, name.length() - FILE_SUFFIX.length());
        Path file = Path.of(e.getValue());
        try {
          String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
          map.put(target, new Entry(keyForEnv(target, map), secret, "file " + file));
        } catch (IOException ex) {
          throw new SettingsException("cannot read " + name + " (" + file + "): " + ex.getMessage(), ex);
        }
      } else if (!env.containsKey(name + FILE_SUFFIX)) {
        map.put(name, new Entry(keyForEnv(name, map), e.getValue(), "env " + name));
      }
    }
    return new Settings(map);
  }

  /** A copy with one value replaced (tests and embedded runs). */
  public Settings with(String key, Object value) {
    Map<String, Entry> map = new HashMap<>(values);
    map.put(envName(key), new Entry(key, String.valueOf(value), "code"));
    return new Settings(map);
  }

  /** The typed value, or the default when unset. */
  public <T> T get(Setting<T> setting) {
    Entry e = values.get(setting.envName());
    if (e == null) {
      return setting.defaultValue();
    }
    try {
      return setting.parser().apply(e.value());
    } catch (RuntimeException ex) {
      throw new SettingsException(
          "setting " + setting.key() + " from " + e.source() + " is not a valid " + setting.type().getSimpleName()
              + (setting.secret() ? "" : ": '" + e.value() + "'"),
          ex);
    }
  }

  /** The raw value of any key, declared or not. */
  public Optional<String> raw(String key) {
    return Optional.ofNullable(values.get(envName(key))).map(Entry::value);
  }

  /** Every value whose dotted key starts with {@code prefix}, by dotted key. */
  public Map<String, String> withPrefix(String prefix) {
    Map<String, String> out = new TreeMap<>();
    for (Entry e : values.values()) {
      if (e.key().startsWith(prefix)) {
        out.put(e.key(), e.value());
      }
    }
    return out;
  }

  /**
   * A printable dump for startup logs: every declared setting with its effective value, then every
   * other supplied key. Secrets (declared secret, or a key naming a password, JAAS config, token,
   * private key) show as {@code ****}.
   */
  public String describe(Collection<Setting<?>> declared) {
    Map<String, String> lines = new TreeMap<>();
    Map<String, Entry> rest = new LinkedHashMap<>(values);
    for (Setting<?> s : declared) {
      Entry e = rest.remove(s.envName());
      String value = e == null ? s.defaultText() : e.value();
      String source = e == null ? "default" : e.source();
      lines.put(s.key(), mask(s.key(), value, s.secret()) + "  (" + source + ")");
    }
    for (Entry e : rest.values()) {
      lines.put(e.key(), mask(e.key(), e.value(), false) + "  (" + e.source() + ")");
    }
    StringBuilder sb = new StringBuilder();
    lines.forEach((k, v) -> sb.append(k).append(" = ").append(v).append('\n'));
    return sb.toString();
  }

  public static boolean isSecretKey(String key) {
    return SECRET_KEY.matcher(key).matches();
  }

  /**
   * Environment form: a leading {@code mmstream.} becomes {@code MMSTREAM_}, other keys get the
   * {@code MMSTREAM_} prefix; dots and dashes become underscores; upper case.
   */
  public static String envName(String key) {
    String rest = key.startsWith("mmstream.") ? key.substring("mmstream.".length()) : key;
    return ENV_PREFIX + rest.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static String mask(String key, String value, boolean declaredSecret) {
    if (value == null || value.isEmpty()) {
      return "";
    }
    return declaredSecret || isSecretKey(key) ? "****" : value;
  }

  /**
   * The dotted key for a variable that only came from the environment. Kafka client keys use dots
   * only, so {@code MMSTREAM_KAFKA_SSL_TRUSTSTORE_LOCATION} maps back to
   * {@code kafka.ssl.truststore.location}; other keys are reached through their declared
   * {@link Setting}, which looks them up by environment form.
   */
  private static String keyForEnv(String envName, Map<String, Entry> fromFile) {
    Entry known = fromFile.get(envName);
    if (known != null) {
      return known.key();
    }
    String rest = envName.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
    return rest.startsWith("kafka.") ? rest : "mmstream." + rest;
  }
}

package io.mmstream.config;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * One named setting: key, type, default and meaning, declared once as a {@code public static final}
 * constant in a holder class ({@link KafkaSettings}, {@code TopicSettings}, {@code ImageSettings}, ...).
 * The README table and deployment config maps are checked against these declarations.
 *
 * @param key dotted key as written in a properties file, e.g. {@code mmstream.images.max-inline-bytes}
 * @param defaultValue value when nothing is configured; null means "unset"
 * @param secret never printed by {@link Settings#describe}
 */
public record Setting<T>(
    String key, Class<T> type, T defaultValue, String doc, boolean secret, Function<String, T> parser) {

  public Setting {
    if (key.endsWith("-file") || key.endsWith(".file")) {
      // *_FILE environment variables carry secrets read from mounted files; a key ending so would clash.
      throw new IllegalArgumentException("setting keys must not end in 'file' (use '-path'): " + key);
    }
  }

  public static Setting<String> string(String key, String defaultValue, String doc) {
    return new Setting<>(key, String.class, defaultValue, doc, false, Function.identity());
  }

  public static Setting<String> secret(String key, String doc) {
    return new Setting<>(key, String.class, null, doc, true, Function.identity());
  }

  public static Setting<Integer> integer(String key, int defaultValue, String doc) {
    return new Setting<>(key, Integer.class, defaultValue, doc, false, s -> Integer.parseInt(s.trim()));
  }

  public static Setting<Long> longValue(String key, long defaultValue, String doc) {
    return new Setting<>(key, Long.class, defaultValue, doc, false, s -> Long.parseLong(s.trim()));
  }

  public static Setting<Double> decimal(String key, double defaultValue, String doc) {
    return new Setting<>(key, Double.class, defaultValue, doc, false, s -> Double.parseDouble(s.trim()));
  }

  public static Setting<Boolean> bool(String key, boolean defaultValue, String doc) {
    return new Setting<>(key, Boolean.class, defaultValue, doc, false, Setting::parseBoolean);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  public static Setting<List<String>> list(String key, List<String> defaultValue, String doc) {
    return new Setting<>(key, (Class) List.class, List.copyOf(defaultValue), doc, false, Setting::parseList);
  }

  /** The environment variable that overrides this key: {@link Settings#envName(String)}. */
  public String envName() {
    return Settings.envName(key);
  }

  /** The default as written in a properties file ("" for unset, lists comma-separated). */
  public String defaultText() {
    if (defaultValue == null) {
      return "";
    }
    if (defaultValue instanceof List<?> l) {
      return String.join(",", l.stream().map(Object::toString).toList());
    }
    return defaultValue.toString();
  }

  /** Every {@code public static final Setting} constant declared by the given holder classes. */
  public static List<Setting<?>> declaredIn(Class<?>... holders) {
    List<Setting<?>> all = new ArrayList<>();
    for (Class<?> holder : holders) {
      for (Field f : holder.getFields()) {
        int m = f.getModifiers();
        if (Modifier.isStatic(m) && Modifier.isFinal(m) && f.getType() == Setting.class) {
          try {
            all.add((Setting<?>) f.get(null));
          } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    }
    return all;
  }

  private static boolean parseBoolean(String s) {
    return switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "true", "yes", "1", "on" -> true;
      case "false", "no", "0", "off" -> false;
      default -> throw new IllegalArgumentException("not a boolean: " + s);
    };
  }

  private static List<String> parseList(String s) {
    return Arrays.stream(s.split(",")).map(String::trim).filter(t -> !t.isEmpty()).toList();
  }
}

package io.mmstream.stream;

import io.mmstream.config.Settings;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/** The tenant check every input record passes: the configured pattern, and the allowed list when one is set. */
final class TenantValidator {
  private final Pattern pattern;
  private final Set<String> allowed;

  TenantValidator(Settings settings) {
    this.pattern = Pattern.compile(settings.get(StreamSettings.TENANT_PATTERN));
    this.allowed = Set.copyOf(settings.get(StreamSettings.TENANTS_ALLOWED));
  }

  /** Why {@code tenant} is refused, or empty when it is fine. */
  Optional<Validation.Invalid> check(String tenant) {
    if (tenant == null || !pattern.matcher(tenant).matches()) {
      return Optional.of(new Validation.Invalid(ImageEventValidator.BAD_TENANT,
          "tenant '" + abbreviate(tenant) + "' does not match " + pattern));
    }
    if (!allowed.isEmpty() && !allowed.contains(tenant)) {
      return Optional.of(new Validation.Invalid(ImageEventValidator.UNKNOWN_TENANT,
          "tenant '" + tenant + "' is not configured"));
    }
    return Optional.empty();
  }

  static String abbreviate(String s) {
    if (s == null) {
      return "null";
    }
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }
}

package io.mmstream.config;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;

/**
 * The startup check every app runs before it starts consuming: one bounded describeCluster call with
 * the app's own connection and security settings. Kafka clients retry an unreachable or mis-configured
 * cluster forever (Kafka Streams replaces failed threads), so a wrong password, an untrusted
 * certificate or a plaintext client pointed at a TLS listener must end the app here, with a message
 * that names the cause, the user and the bootstrap address.
 */
public final class KafkaConnectionCheck {
  private static final Pattern JAAS_USERNAME = Pattern.compile("username\\s*=\\s*\"([^\"]*)\"");

  private KafkaConnectionCheck() {}

  /** Checks with a short-lived admin client named {@code clientName}. */
  public static void verify(Settings settings, String clientName) {
    try (Admin admin = Admin.create(KafkaClientConfig.admin(settings, clientName))) {
      verify(admin, settings);
    }
  }

  /** Checks with {@code admin}, which was built from {@code settings}. */
  public static void verify(Admin admin, Settings settings) {
    long timeoutMs = settings.get(KafkaSettings.CONNECT_CHECK_TIMEOUT_MS);
    try {
      admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) Math.min(Integer.MAX_VALUE, timeoutMs)))
          .clusterId().get(timeoutMs + 1_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaConnectionException("interrupted while connecting to Kafka at " + bootstrap(settings), e);
    } catch (ExecutionException e) {
      throw failure(settings, e.getCause(), timeoutMs);
    } catch (TimeoutException e) {
      throw failure(settings, e, timeoutMs);
    }
  }

  private static KafkaConnectionException failure(Settings settings, Throwable cause, long timeoutMs) {
    String protocol = settings.get(KafkaSettings.SECURITY_PROTOCOL);
    String where = " at bootstrap " + bootstrap(settings);
    if (cause instanceof SaslAuthenticationException) {
      String mechanism = settings.get(KafkaSettings.SASL_MECHANISM);
      return new KafkaConnectionException("Kafka authentication failed for user '" + user(settings) + "' ("
          + (mechanism.isBlank() ? "GSSAPI" : mechanism) + " over " + protocol + ")" + where + ": "
          + cause.getMessage() + "; check " + KafkaSettings.SASL_JAAS_CONFIG.key(), cause);
    }
    if (cause instanceof SslAuthenticationException) {
      return new KafkaConnectionException("TLS handshake with Kafka failed" + where + " (" + protocol + "): "
          + rootMessage(cause) + "; check kafka.ssl.truststore.* (the cluster CA) and, for mutual TLS, kafka.ssl.keystore.*",
          cause);
    }
    if (cause instanceof AuthenticationException) {
      return new KafkaConnectionException("Kafka authentication failed" + where + " (" + protocol + "): "
          + cause.getMessage(), cause);
    }
    if (cause instanceof TimeoutException || cause instanceof org.apache.kafka.common.errors.TimeoutException) {
      return new KafkaConnectionException("no Kafka broker answered" + where + " within " + timeoutMs
          + " ms (" + KafkaSettings.CONNECT_CHECK_TIMEOUT_MS.key() + ") with " + KafkaSettings.SECURITY_PROTOCOL.key()
          + "=" + protocol + ": the address is wrong or unreachable, or the listener speaks another protocol"
          + " (a TLS listener drops plaintext clients)", cause);
    }
    return new KafkaConnectionException("cannot connect to Kafka" + where + " (" + protocol + "): " + cause, cause);
  }

  private static String bootstrap(Settings settings) {
    return settings.get(KafkaSettings.BOOTSTRAP_SERVERS);
  }

  /** The SASL user name from the JAAS line (never the password), or "?" when it names none. */
  static String user(Settings settings) {
    String jaas = settings.get(KafkaSettings.SASL_JAAS_CONFIG);
    Matcher m = JAAS_USERNAME.matcher(jaas == null ? "" : jaas);
    return m.find() ? m.group(1) : "?";
  }

  private static String rootMessage(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }
}

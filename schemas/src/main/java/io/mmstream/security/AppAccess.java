package io.mmstream.security;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;

/** Everything one app may do on the Kafka cluster: the ACLs its principal needs, and nothing more. */
public record AppAccess(String app, List<KafkaPermission> permissions) {

  public AppAccess {
    permissions = List.copyOf(new LinkedHashSet<>(permissions));
  }

  /** The ALLOW bindings for {@code principal}, one per permission. */
  public List<AclBinding> bindings(String principal) {
    return permissions.stream().map(p -> p.allow(principal)).toList();
  }

  /** Both apps' permissions, for a process that runs several apps under one principal (the demo). */
  public AppAccess plus(AppAccess other, String name) {
    List<KafkaPermission> all = new ArrayList<>(permissions);
    all.addAll(other.permissions);
    return new AppAccess(name, all);
  }

  /** One resource (type, pattern, name) with the operations allowed on it, in declaration order. */
  public record Grant(ResourceType resourceType, PatternType patternType, String name, List<AclOperation> operations) {}

  /** The permissions grouped by resource: the shape of a Strimzi KafkaUser ACL rule and of a README table row. */
  public List<Grant> grants() {
    Map<List<Object>, List<AclOperation>> byResource = new LinkedHashMap<>();
    for (KafkaPermission p : permissions) {
      byResource.computeIfAbsent(List.of(p.resourceType(), p.patternType(), p.name()), k -> new ArrayList<>())
          .add(p.operation());
    }
    List<Grant> grants = new ArrayList<>();
    byResource.forEach((k, ops) -> grants.add(
        new Grant((ResourceType) k.get(0), (PatternType) k.get(1), (String) k.get(2), List.copyOf(ops))));
    return grants;
  }

  /** The README's ACL table rows for this app, e.g. {@code | stream app | Topic | prefixed | `mmstream-enrichment` | Create, Read |}. */
  public List<String> readmeRows() {
    return grants().stream().map(g -> "| " + app + " | " + title(g.resourceType().name()) + " | "
        + g.patternType().name().toLowerCase(Locale.ROOT) + " | `" + g.name() + "` | "
        + g.operations().stream().map(o -> title(o.name())).collect(Collectors.joining(", ")) + " |").toList();
  }

  /** {@code TRANSACTIONAL_ID} → {@code TransactionalId}, {@code DESCRIBE_CONFIGS} → {@code DescribeConfigs}. */
  public static String title(String constant) {
    StringBuilder sb = new StringBuilder();
    for (String part : constant.split("_")) {
      sb.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
    }
    return sb.toString();
  }
}

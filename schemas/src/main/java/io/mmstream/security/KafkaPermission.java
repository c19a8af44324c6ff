package io.mmstream.security;

import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * One operation an app may perform on a Kafka resource, named literally or by prefix.
 *
 * @param patternType {@link PatternType#LITERAL} or {@link PatternType#PREFIXED}
 */
public record KafkaPermission(ResourceType resourceType, String name, PatternType patternType, AclOperation operation) {

  public KafkaPermission {
    if (patternType != PatternType.LITERAL && patternType != PatternType.PREFIXED) {
      throw new IllegalArgumentException("pattern type must be LITERAL or PREFIXED: " + patternType);
    }
  }

  /** The ALLOW binding that grants this permission to {@code principal} (e.g. {@code User:mmstream-stream-app}) from any host. */
  public AclBinding allow(String principal) {
    return new AclBinding(new ResourcePattern(resourceType, name, patternType),
        new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
  }
}

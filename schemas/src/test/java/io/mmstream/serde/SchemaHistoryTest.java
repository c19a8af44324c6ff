package io.mmstream.serde;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.api.Test;

/** The evolution rule, checked: the current schemas read every kept version, and every kept version reads the current one. */
class SchemaHistoryTest {

  @Test
  void everyRecordHasHistoryAndStaysCompatibleBothWays() {
    for (var type : SchemaStore.RECORD_TYPES) {
      Schema current = SpecificData.get().getSchema(type);
      var history = SchemaStore.history(type.getSimpleName());
      assertThat(history).as("history of %s", type.getSimpleName()).isNotEmpty();
      for (Schema old : history) {
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(current, old).getType())
            .as("%s: current reads %s", type.getSimpleName(), old)
            .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(old, current).getType())
            .as("%s: old reads current", type.getSimpleName())
            .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
        assertThat(SchemaStore.standard().knows(SchemaStore.fingerprint(old))).isTrue();
      }
      assertThat(SchemaStore.standard().knows(SchemaStore.fingerprint(current))).isTrue();
    }
  }
}

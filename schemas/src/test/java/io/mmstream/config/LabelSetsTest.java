package io.mmstream.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LabelSetsTest {

  static final String JSON = """
      {"labelSets": {"animals": {"labels": ["cat", "dog"], "templates": ["a photo of a {}."]},
                     "colors": {"labels": ["red", "blue"]}},
       "tenants": {"acme": {"labelSets": {"animals": {"labels": ["lion"], "templates": ["art of a {}"]}}}}}
      """;

  @Test
  void tenantSetsShadowSharedOnes() {
    LabelSets sets = LabelSets.parse(JSON);
    assertThat(sets.find("acme", "animals").orElseThrow().labels()).containsExactly("lion");
    assertThat(sets.find("other", "animals").orElseThrow().labels()).containsExactly("cat", "dog");
    assertThat(sets.find("acme", "colors").orElseThrow().templates()).isEqualTo(LabelSets.DEFAULT_TEMPLATES);
    assertThat(sets.find("acme", "missing")).isEmpty();
  }

  @Test
  void rejectsSetsWithoutLabelsOrWithBadTemplates() {
    assertThatThrownBy(() -> LabelSets.parse("{\"labelSets\":{\"x\":{\"labels\":[]}}}"))
        .hasMessageContaining("label set x has no labels");
    assertThatThrownBy(() -> LabelSets.parse("{\"labelSets\":{\"x\":{\"labels\":[\"a\"],\"templates\":[\"no slot\"]}}}"))
        .hasMessageContaining("template without {}");
  }
}

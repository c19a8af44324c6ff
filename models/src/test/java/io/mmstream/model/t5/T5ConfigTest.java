package io.mmstream.model.t5;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.model.nn.Activation;
import org.junit.jupiter.api.Test;

/** The feed-forward activation rule: {@code dense_act_fn} wins; "gated-gelu" alone means HF's tanh {@code gelu_new}. */
class T5ConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void denseActFnOverridesTheProjectionName() throws Exception {
    T5Config c = T5Config.fromJson(JSON.readTree("{\"feed_forward_proj\": \"gated-gelu\", \"dense_act_fn\": \"gelu\"}"));
    assertThat(c.gatedFeedForward()).isTrue();
    assertThat(c.activation()).isEqualTo(Activation.GELU);
  }

  @Test
  void gatedGeluAloneIsTheTanhApproximation() throws Exception {
    T5Config c = T5Config.fromJson(JSON.readTree("{\"feed_forward_proj\": \"gated-gelu\"}"));
    assertThat(c.activation()).isEqualTo(Activation.GELU_TANH);
  }

  @Test
  void originalT5IsUngatedRelu() throws Exception {
    T5Config c = T5Config.fromJson(JSON.readTree("{\"num_layers\": 3}"));
    assertThat(c.gatedFeedForward()).isFalse();
    assertThat(c.activation()).isEqualTo(Activation.RELU);
    assertThat(c.numDecoderLayers()).isEqualTo(3);
  }

  @Test
  void relativeBucketsFollowT5() {
    // encoder, 16 buckets up to distance 24: 8 per direction, exact below 4, logarithmic above
    assertThat(RelativePositionBuckets.bucket(0, true, 16, 24)).isZero();
    assertThat(RelativePositionBuckets.bucket(3, true, 16, 24)).isEqualTo(8 + 3);
    assertThat(RelativePositionBuckets.bucket(-3, true, 16, 24)).isEqualTo(3);
    assertThat(RelativePositionBuckets.bucket(-100, true, 16, 24)).isEqualTo(7);
    // decoder: only keys before the query get distinct buckets
    assertThat(RelativePositionBuckets.bucket(5, false, 16, 24)).isZero();
    assertThat(RelativePositionBuckets.bucket(-5, false, 16, 24)).isEqualTo(5);
  }
}

package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.deploy.PromQlSelectors.Selector;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PromQlSelectorsTest {

    @Test
    void finds_metrics_inside_functions_and_aggregations_but_not_grouping_labels() {
        assertThat(PromQlSelectors.of(
                "histogram_quantile(0.99, sum by (kind, le) (rate(mmstream_worker_task_latency_seconds_bucket[5m])))"))
                .containsExactly(new Selector("mmstream_worker_task_latency_seconds_bucket", Set.of()));
    }

    @Test
    void reads_matcher_labels_and_skips_their_values_strings_and_numbers() {
        assertThat(PromQlSelectors.of("""
                label_replace(sum by (consumergroup) (kafka_consumergroup_lag{consumergroup=~"mmstream-worker-.*"}),
                  "kind", "$1", "consumergroup", "mmstream-worker-(.*)") > 1e-9
                """))
                .containsExactly(new Selector("kafka_consumergroup_lag", Set.of("consumergroup")));
    }

    @Test
    void handles_binary_operators_recording_rule_names_offsets_and_grafana_variables() {
        assertThat(PromQlSelectors.of("""
                mmstream:worker_batch_size:avg5m{kind=~"$kind"} < 1.5
                  and on (kind) mmstream:worker_lag:sum offset 1h > 500
                  or rate(mmstream_worker_items_total[$__rate_interval]) unless bool up
                """))
                .extracting(Selector::metric)
                .containsExactly("mmstream:worker_batch_size:avg5m", "mmstream:worker_lag:sum",
                        "mmstream_worker_items_total", "up");
    }

    @Test
    void rejects_selectors_without_a_metric_name() {
        assertThatThrownBy(() -> PromQlSelectors.of("{__name__=~\"mmstream_.*\"}"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}

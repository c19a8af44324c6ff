package io.mmstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The rendered Deployments start the apps the way the apps expect: only setting keys the app reads, every required
 * key set, probes and metrics Services on the app's real HTTP port and paths, locked-down containers, and a
 * disruption budget per app.
 */
class DeploymentContractTest {

    static final List<String> KUSTOMIZATIONS = RenderedManifests.KUSTOMIZATIONS;
    private static final AppContract CONTRACT = AppContract.load();

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void settings_use_only_keys_the_app_reads_and_set_every_required_key(String kustomization) {
        for (PodSettings pod : pods(kustomization)) {
            String what = kustomization + ": " + pod.deploymentName() + " (" + pod.app() + ")";
            assertThat(pod.fileKeys()).as(what + ": keys in mmstream.properties that the app does not read")
                    .allMatch(k -> CONTRACT.reads(pod.app(), k));
            assertThat(pod.unknownEnvNames()).as(what + ": MMSTREAM_* variables that name no setting").isEmpty();
            Set<String> set = new HashSet<>(pod.fileKeys());
            set.addAll(pod.envKeys());
            set.addAll(pod.optionKeys());
            assertThat(set).as(what + ": required settings").containsAll(CONTRACT.requiredKeys(pod.app()));
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void service_links_are_off_so_kubernetes_injects_no_mmstream_variables(String kustomization) {
        for (PodSettings pod : pods(kustomization)) {
            assertThat(podSpec(pod).getEnableServiceLinks()).as(kustomization + ": " + pod.deploymentName())
                    .isFalse();
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void probes_use_the_apps_health_endpoints_on_the_apps_http_port(String kustomization) {
        for (PodSettings pod : pods(kustomization)) {
            String what = kustomization + ": " + pod.deploymentName();
            int httpPort = Integer.parseInt(pod.require(AppContract.httpPortKey(pod.app())));
            Container c = pod.container();
            assertThat(probePath(c.getLivenessProbe(), c, httpPort, what)).as(what + ": liveness path")
                    .isEqualTo(AppContract.LIVENESS_PATH);
            assertThat(probePath(c.getReadinessProbe(), c, httpPort, what)).as(what + ": readiness path")
                    .isEqualTo(AppContract.READINESS_PATH);
            if (c.getStartupProbe() != null) {
                assertThat(probePath(c.getStartupProbe(), c, httpPort, what)).as(what + ": startup path")
                        .isEqualTo(AppContract.LIVENESS_PATH);
            }
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void a_metrics_service_reaches_metrics_on_the_apps_http_port(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        for (PodSettings pod : pods(kustomization)) {
            String what = kustomization + ": " + pod.deploymentName();
            int httpPort = Integer.parseInt(pod.require(AppContract.httpPortKey(pod.app())));
            Map<String, String> podLabels = pod.deployment().getSpec().getTemplate().getMetadata().getLabels();
            List<Service> services = manifests.all(Service.class).stream()
                    .filter(s -> podLabels.entrySet().containsAll(s.getSpec().getSelector().entrySet()))
                    .toList();
            assertThat(services).as(what + ": Services selecting its pods").hasSize(1);
            Service service = services.get(0);
            assertThat(service.getMetadata().getAnnotations())
                    .containsEntry("prometheus.io/scrape", "true")
                    .containsEntry("prometheus.io/path", AppContract.METRICS_PATH)
                    .containsEntry("prometheus.io/port", String.valueOf(httpPort));
            for (ServicePort port : service.getSpec().getPorts()) {
                assertThat(containerPort(pod.container(), port.getTargetPort(), what)).as(what).isEqualTo(httpPort);
            }
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void every_app_has_a_disruption_budget_that_selects_its_pods(String kustomization) {
        List<PodDisruptionBudget> budgets = RenderedManifests.of(kustomization).all(PodDisruptionBudget.class);
        for (PodSettings pod : pods(kustomization)) {
            Map<String, String> podLabels = pod.deployment().getSpec().getTemplate().getMetadata().getLabels();
            assertThat(budgets).as(kustomization + ": " + pod.deploymentName())
                    .filteredOn(b -> podLabels.entrySet()
                            .containsAll(b.getSpec().getSelector().getMatchLabels().entrySet()))
                    .singleElement()
                    .satisfies(b -> assertThat(b.getSpec().getMaxUnavailable()).isEqualTo(new IntOrString(1)));
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void containers_run_as_non_root_with_read_only_root_and_no_privilege_escalation(String kustomization) {
        for (PodSettings pod : pods(kustomization)) {
            PodSpec spec = podSpec(pod);
            PodSecurityContext podContext = spec.getSecurityContext();
            assertThat(podContext.getRunAsNonRoot()).isTrue();
            assertThat(podContext.getRunAsUser()).isPositive();
            assertThat(spec.getAutomountServiceAccountToken()).isFalse();
            for (Container c : allContainers(spec)) {
                String what = kustomization + ": " + pod.deploymentName() + "/" + c.getName();
                SecurityContext context = c.getSecurityContext();
                assertThat(context).as(what).isNotNull();
                assertThat(context.getAllowPrivilegeEscalation()).as(what).isFalse();
                assertThat(context.getReadOnlyRootFilesystem()).as(what).isTrue();
                assertThat(context.getPrivileged()).as(what).isNotEqualTo(Boolean.TRUE);
                assertThat(context.getCapabilities().getDrop()).as(what).containsExactly("ALL");
                assertThat(c.getResources().getRequests()).as(what).containsKeys("cpu", "memory");
                assertThat(c.getResources().getLimits()).as(what).containsKey("memory");
                assertThat(c.getImage()).as(what).contains(":").doesNotEndWith(":latest");
            }
            assertThat(pod.container().getVolumeMounts()).extracting(VolumeMount::getMountPath)
                    .as(kustomization + ": " + pod.deploymentName() + ": writable /tmp on a read-only root")
                    .contains("/tmp");
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void workers_run_the_kind_their_settings_name_and_read_models_from_the_models_volume(String kustomization) {
        for (PodSettings pod : pods(kustomization)) {
            if (!pod.app().equals(AppContract.WORKER)) {
                continue;
            }
            String what = kustomization + ": " + pod.deploymentName();
            String kind = pod.require(AppContract.WORKER_KIND_KEY);
            assertThat(AppContract.WORKER_KINDS).as(what).contains(kind);
            assertThat(pod.container().getArgs()).as(what).startsWith("worker", "--kind", kind);
            assertThat(pod.deploymentName()).isEqualTo("mmstream-worker-" + kind);
            VolumeMount models = pod.container().getVolumeMounts().stream()
                    .filter(m -> m.getName().equals("models")).findFirst()
                    .orElseThrow(() -> new AssertionError(what + ": no models volume mounted"));
            assertThat(models.getReadOnly()).as(what).isTrue();
            assertThat(pod.require(AppContract.WORKER_MODEL_DIR_KEY)).as(what)
                    .startsWith(models.getMountPath() + "/");
        }
    }

    static List<PodSettings> pods(String kustomization) {
        RenderedManifests manifests = RenderedManifests.of(kustomization);
        return manifests.all(Deployment.class).stream().map(d -> PodSettings.of(d, manifests, CONTRACT)).toList();
    }

    private static PodSpec podSpec(PodSettings pod) {
        return pod.deployment().getSpec().getTemplate().getSpec();
    }

    private static List<Container> allContainers(PodSpec spec) {
        List<Container> all = new ArrayList<>(spec.getContainers());
        if (spec.getInitContainers() != null) {
            all.addAll(spec.getInitContainers());
        }
        return all;
    }

    private static String probePath(Probe probe, Container container, int httpPort, String what) {
        assertThat(probe).as(what + ": probe").isNotNull();
        HTTPGetAction get = probe.getHttpGet();
        assertThat(get).as(what + ": probe is an HTTP GET").isNotNull();
        assertThat(containerPort(container, get.getPort(), what)).as(what + ": probe port").isEqualTo(httpPort);
        return get.getPath();
    }

    /** The container port number that a numeric or named port refers to. */
    private static int containerPort(Container container, IntOrString port, String what) {
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        return Stream.ofNullable(container.getPorts()).flatMap(List::stream)
                .filter(p -> port.getStrVal().equals(p.getName())).map(ContainerPort::getContainerPort).findFirst()
                .orElseThrow(() -> new AssertionError(what + ": no container port named " + port.getStrVal()));
    }
}

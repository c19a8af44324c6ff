package io.mmstream.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * The settings that the app in one rendered Deployment starts with, resolved the way the app resolves them:
 * an MMSTREAM_&lt;KEY&gt; environment variable over the mounted mmstream.properties over the built-in default.
 */
final class PodSettings {

    private final Deployment deployment;
    private final Container container;
    private final String app;
    private final Properties file;
    private final Map<String, String> envOverrides;
    private final List<String> unknownEnvNames;
    private final AppContract contract;

    private PodSettings(Deployment deployment, Container container, String app, Properties file,
            Map<String, String> envOverrides, List<String> unknownEnvNames, AppContract contract) {
        this.deployment = deployment;
        this.container = container;
        this.app = app;
        this.file = file;
        this.envOverrides = envOverrides;
        this.unknownEnvNames = unknownEnvNames;
        this.contract = contract;
    }

    static PodSettings of(Deployment deployment, RenderedManifests manifests, AppContract contract) {
        String name = deployment.getMetadata().getName();
        List<Container> appContainers = deployment.getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(c -> c.getArgs() != null && !c.getArgs().isEmpty()
                        && AppContract.APPS.contains(c.getArgs().get(0)))
                .toList();
        if (appContainers.size() != 1) {
            throw new AssertionError(name + ": expected one container whose first argument is one of "
                    + AppContract.APPS + ", found " + appContainers.size());
        }
        Container container = appContainers.get(0);
        String app = container.getArgs().get(0);

        VolumeMount settingsMount = container.getVolumeMounts().stream()
                .filter(m -> m.getMountPath().equals(AppContract.SETTINGS_DIR)).findFirst()
                .orElseThrow(() -> new AssertionError(name + ": nothing mounted at " + AppContract.SETTINGS_DIR));
        Volume settingsVolume = deployment.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals(settingsMount.getName())).findFirst()
                .orElseThrow(() -> new AssertionError(name + ": no volume " + settingsMount.getName()));
        if (settingsVolume.getConfigMap() == null) {
            throw new AssertionError(name + ": " + AppContract.SETTINGS_DIR + " is not a ConfigMap volume");
        }
        ConfigMap configMap = manifests.configMap(settingsVolume.getConfigMap().getName());
        String text = configMap.getData() == null ? null : configMap.getData().get(AppContract.SETTINGS_FILE_NAME);
        if (text == null) {
            throw new AssertionError(name + ": ConfigMap " + configMap.getMetadata().getName() + " has no key "
                    + AppContract.SETTINGS_FILE_NAME);
        }
        Properties file = new Properties();
        try {
            file.load(new StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }

        Map<String, String> envOverrides = new LinkedHashMap<>();
        List<String> unknownEnvNames = new ArrayList<>();
        Set<String> keys = contract.keys(app);
        for (EnvVar env : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
            if (!env.getName().startsWith(AppContract.ENV_PREFIX)) {
                continue;
            }
            Optional<String> key = keys.stream().filter(k -> AppContract.envName(k).equals(env.getName())).findFirst();
            if (key.isPresent()) {
                envOverrides.put(key.get(), env.getValue());
            } else {
                unknownEnvNames.add(env.getName());
            }
        }
        return new PodSettings(deployment, container, app, file, envOverrides, unknownEnvNames, contract);
    }

    String deploymentName() {
        return deployment.getMetadata().getName();
    }

    Deployment deployment() {
        return deployment;
    }

    Container container() {
        return container;
    }

    String app() {
        return app;
    }

    /** Keys that the properties file sets. */
    Set<String> fileKeys() {
        return file.stringPropertyNames();
    }

    /** Keys that MMSTREAM_* environment variables set. */
    Set<String> envKeys() {
        return envOverrides.keySet();
    }

    /** MMSTREAM_* variables that name no setting of this app. */
    List<String> unknownEnvNames() {
        return unknownEnvNames;
    }

    Optional<String> effective(String key) {
        if (envOverrides.containsKey(key)) {
            return Optional.ofNullable(envOverrides.get(key));
        }
        if (file.containsKey(key)) {
            return Optional.of(file.getProperty(key));
        }
        return contract.defaultValue(app, key);
    }

    String require(String key) {
        return effective(key).orElseThrow(() -> new AssertionError(deploymentName() + ": " + key + " is not set"));
    }
}

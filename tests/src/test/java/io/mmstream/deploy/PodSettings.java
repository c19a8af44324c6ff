package io.mmstream.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.mmstream.config.Settings;
import io.mmstream.worker.WorkerSettings;
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
 * The settings that the app in one rendered Deployment starts with, resolved the way the launcher resolves them:
 * a command-line option ({@code --kind}, {@code --model}, {@code --bootstrap-servers}) over an MMSTREAM_&lt;KEY&gt;
 * environment variable over the properties file named by {@code --config} over the built-in default.
 */
final class PodSettings {

    private final Deployment deployment;
    private final Container container;
    private final String app;
    private final Properties file;
    private final Map<String, String> envOverrides;
    private final List<String> unknownEnvNames;
    private final Map<String, String> optionOverrides;
    private final AppContract contract;

    /** Command-line options of the launcher's stream-app and worker commands that set a key. */
    private static final Map<String, Map<String, String>> OPTION_KEYS = Map.of(
            AppContract.STREAM_APP, Map.of("--bootstrap-servers", AppContract.BOOTSTRAP_KEY,
                    "-b", AppContract.BOOTSTRAP_KEY),
            AppContract.WORKER, Map.of("--kind", AppContract.WORKER_KIND_KEY,
                    "--model", AppContract.WORKER_MODEL_DIR_KEY,
                    "--preset", WorkerSettings.MODEL_PRESET.key(),
                    "--bootstrap-servers", AppContract.BOOTSTRAP_KEY));

    private PodSettings(Deployment deployment, Container container, String app, Properties file,
            Map<String, String> envOverrides, List<String> unknownEnvNames, Map<String, String> optionOverrides,
            AppContract contract) {
        this.deployment = deployment;
        this.container = container;
        this.app = app;
        this.file = file;
        this.envOverrides = envOverrides;
        this.unknownEnvNames = unknownEnvNames;
        this.optionOverrides = optionOverrides;
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
        Map<String, String> options = new LinkedHashMap<>();
        List<String> args = container.getArgs();
        if (args.size() % 2 != 1) {
            throw new AssertionError(name + ": expected the command followed by option/value pairs: " + args);
        }
        for (int i = 1; i < args.size(); i += 2) {
            options.put(args.get(i), args.get(i + 1));
        }
        String configFile = options.remove(AppContract.CONFIG_OPTION);
        if (!AppContract.SETTINGS_FILE.equals(configFile)) {
            throw new AssertionError(name + ": the app reads its properties only from --config; expected "
                    + AppContract.CONFIG_OPTION + " " + AppContract.SETTINGS_FILE + " in " + args);
        }
        Map<String, String> optionOverrides = new LinkedHashMap<>();
        for (Map.Entry<String, String> option : options.entrySet()) {
            String key = OPTION_KEYS.get(app).get(option.getKey());
            if (key == null) {
                throw new AssertionError(name + ": " + app + " has no option " + option.getKey());
            }
            optionOverrides.put(key, option.getValue());
        }

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
        for (EnvVar env : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
            if (!env.getName().startsWith(AppContract.ENV_PREFIX)) {
                continue;
            }
            Optional<String> key = contract.keyOfEnv(app, env.getName());
            if (key.isPresent()) {
                envOverrides.put(key.get(), env.getValue());
            } else {
                unknownEnvNames.add(env.getName());
            }
        }
        return new PodSettings(deployment, container, app, file, envOverrides, unknownEnvNames, optionOverrides,
                contract);
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

    /** Keys that command-line options set. */
    Set<String> optionKeys() {
        return optionOverrides.keySet();
    }

    /** MMSTREAM_* variables that name no setting of this app. */
    List<String> unknownEnvNames() {
        return unknownEnvNames;
    }

    Optional<String> effective(String key) {
        if (optionOverrides.containsKey(key)) {
            return Optional.of(optionOverrides.get(key));
        }
        if (envOverrides.containsKey(key)) {
            return Optional.ofNullable(envOverrides.get(key));
        }
        if (file.containsKey(key)) {
            return Optional.of(file.getProperty(key));
        }
        return contract.defaultValue(app, key);
    }

    /**
     * The pod's settings as the app would load them, for code that derives from settings (ACLs): file, then
     * literal MMSTREAM_* values, then options. Values from Secrets are not resolvable here and are left out.
     */
    Settings settings() {
        Map<String, String> values = new LinkedHashMap<>();
        file.stringPropertyNames().forEach(k -> values.put(k, file.getProperty(k)));
        envOverrides.forEach((k, v) -> {
            if (v != null) {
                values.put(k, v);
            }
        });
        values.putAll(optionOverrides);
        return Settings.of(values);
    }

    String require(String key) {
        return effective(key).orElseThrow(() -> new AssertionError(deploymentName() + ": " + key + " is not set"));
    }
}

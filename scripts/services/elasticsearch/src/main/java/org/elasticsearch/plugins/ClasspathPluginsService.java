package org.elasticsearch.plugins;

import org.elasticsearch.Build;
import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.plugins.spi.SPIClassIterator;

import java.lang.reflect.Constructor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Plugin service for {@link org.elasticsearch.node.ClasspathPluginsNode}:
 * instantiates the given plugin classes directly (no plugin descriptors, no
 * separate class loaders). In Elasticsearch's package for access to the
 * package-private {@code loadPlugin}, {@code LoadedPlugin} and extension hooks.
 */
public class ClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> classpathPlugins;

    public ClasspathPluginsService(Settings settings, Path configDir, List<Class<? extends Plugin>> pluginClasses) {
        // No module or plugin bundles on disk: the parent loads nothing.
        super(settings, configDir, new PluginsLoader(Set.of(), Set.of(), Map.of()));
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> pluginClass : pluginClasses) {
            Plugin plugin = loadPlugin(pluginClass, settings, configDir);
            PluginDescriptor descriptor = new PluginDescriptor(
                pluginClass.getSimpleName(),
                "classpath plugin " + pluginClass.getName(),
                "NA",
                Build.current().version(),
                Integer.toString(Runtime.version().feature()),
                pluginClass.getName(),
                null,
                List.of(),
                false,
                false,
                false,
                false
            );
            loaded.add(new LoadedPlugin(descriptor, plugin, pluginClass.getClassLoader()));
        }
        loadExtensions(loaded);
        this.classpathPlugins = List.copyOf(loaded);
    }

    @Override
    protected final List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }

    @Override
    public PluginsAndModules info() {
        return new PluginsAndModules(
            classpathPlugins.stream().map(LoadedPlugin::descriptor).map(PluginRuntimeInfo::new).toList(),
            List.of()
        );
    }

    /**
     * All plugins share one class loader here, so the per-plugin SPI lookup of
     * the parent class would find every provider once per plugin (and hand a
     * provider to a plugin it does not belong to). Instead: each provider class
     * once, constructed with the plugin its constructor asks for, if any.
     */
    @Override
    public <T> List<? extends T> loadServiceProviders(Class<T> service) {
        List<T> result = new ArrayList<>();
        if (classpathPlugins.isEmpty()) {
            return result;
        }
        Set<Class<? extends T>> providers = new LinkedHashSet<>();
        for (LoadedPlugin loaded : classpathPlugins) {
            SPIClassIterator.get(service, loaded.instance().getClass().getClassLoader()).forEachRemaining(providers::add);
        }
        for (Class<? extends T> provider : providers) {
            Plugin owner = classpathPlugins.get(0).instance();
            for (Constructor<?> constructor : provider.getConstructors()) {
                if (constructor.getParameterCount() == 1) {
                    Class<?> wanted = constructor.getParameterTypes()[0];
                    owner = classpathPlugins.stream()
                        .map(LoadedPlugin::instance)
                        .filter(p -> p.getClass() == wanted)
                        .findFirst()
                        .orElse(null);
                }
            }
            if (owner != null) {
                result.add(createExtension(provider, service, owner));
            }
        }
        return List.copyOf(result);
    }
}

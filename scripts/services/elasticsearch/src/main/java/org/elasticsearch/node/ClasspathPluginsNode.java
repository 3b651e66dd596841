package org.elasticsearch.node;

import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

import java.util.Collection;
import java.util.List;

/**
 * A {@link Node} whose plugins are classes already on the classpath instead of
 * bundles under {@code modules/} and {@code plugins/} of a distribution.
 *
 * <p>It lives in Elasticsearch's own package because the hooks that pick the
 * plugin service ({@code NodeConstruction}, {@code NodeServiceProvider}) are
 * package-private; Elasticsearch's test framework does the same for MockNode.
 */
public class ClasspathPluginsNode extends Node {

    public ClasspathPluginsNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(environment, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, PluginsLoader ignored) {
                return new ClasspathPluginsService(env.settings(), env.configDir(), List.copyOf(plugins));
            }
        }, true));
    }
}

package docsvc.es;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.apache.lucene.analysis.core.WhitespaceTokenizer;
import org.apache.lucene.analysis.miscellaneous.LengthFilter;
import org.apache.lucene.analysis.pattern.PatternTokenizer;
import org.apache.lucene.analysis.charfilter.HTMLStripCharFilter;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.core.LowerCaseFilter;
import org.apache.lucene.analysis.core.UpperCaseFilter;
import org.apache.lucene.analysis.el.GreekLowerCaseFilter;
import org.apache.lucene.analysis.ga.IrishLowerCaseFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.TrimFilter;
import org.apache.lucene.analysis.tr.TurkishLowerCaseFilter;
import org.elasticsearch.common.regex.Regex;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractCharFilterFactory;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.AbstractTokenizerFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingCharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.PreConfiguredCharFilter;
import org.elasticsearch.index.analysis.PreConfiguredTokenFilter;
import org.elasticsearch.index.analysis.PreConfiguredTokenizer;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.io.Reader;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The part of Elasticsearch's {@code analysis-common} module that docsvc uses,
 * with the same names, settings and behaviour, built on the same Lucene
 * classes. (The module itself is not published to Maven Central.)
 *
 * <ul>
 *   <li>char_filter {@code mapping} ({@code mappings} / {@code mappings_path}),
 *       {@code html_strip} ({@code escaped_tags})</li>
 *   <li>tokenizer {@code pattern} ({@code pattern}, {@code flags}, {@code group}),
 *       {@code keyword} ({@code buffer_size}), {@code whitespace} ({@code max_token_length})</li>
 *   <li>filter {@code lowercase} ({@code language}: greek, irish, turkish),
 *       {@code uppercase}, {@code asciifolding} ({@code preserve_original}),
 *       {@code trim}, {@code length} ({@code min}, {@code max})</li>
 * </ul>
 * The {@code standard} tokenizer/analyzer, {@code stop}, {@code shingle} and
 * the pre-configured {@code lowercase} filter are in the server already.
 */
public class CommonAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        return Map.of(
            "mapping", AnalysisPlugin.requiresAnalysisSettings(MappingCharFilterFactory::new),
            "html_strip", HtmlStripCharFilterFactory::new
        );
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of(
            "pattern", PatternTokenizerFactory::new,
            "keyword", (is, env, name, settings) -> tokenizer(is, settings, name,
                () -> new KeywordTokenizer(settings.getAsInt("buffer_size", 256))),
            "whitespace", (is, env, name, settings) -> tokenizer(is, settings, name,
                () -> new WhitespaceTokenizer(TokenStream.DEFAULT_TOKEN_ATTRIBUTE_FACTORY, settings.getAsInt("max_token_length", 255)))
        );
    }

    @Override
    public List<PreConfiguredTokenizer> getPreConfiguredTokenizers() {
        // "standard" is pre-configured by the server itself.
        return List.of(
            PreConfiguredTokenizer.singleton("keyword", KeywordTokenizer::new),
            PreConfiguredTokenizer.singleton("whitespace", WhitespaceTokenizer::new),
            PreConfiguredTokenizer.singleton("pattern", () -> new PatternTokenizer(Pattern.compile("\\W+"), -1))
        );
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "length", LengthTokenFilterFactory::new,
            "lowercase", LowercaseTokenFilterFactory::new,
            "uppercase", (is, env, name, settings) -> simpleFilter(name, settings, UpperCaseFilter::new),
            "asciifolding", AsciiFoldingTokenFilterFactory::new,
            "trim", (is, env, name, settings) -> simpleFilter(name, settings, TrimFilter::new)
        );
    }

    @Override
    public List<PreConfiguredCharFilter> getPreConfiguredCharFilters() {
        return List.of(PreConfiguredCharFilter.singleton("html_strip", false, HTMLStripCharFilter::new));
    }

    @Override
    public List<PreConfiguredTokenFilter> getPreConfiguredTokenFilters() {
        // "lowercase" is pre-configured by the server itself.
        return List.of(
            PreConfiguredTokenFilter.singleton("asciifolding", true, ASCIIFoldingFilter::new),
            PreConfiguredTokenFilter.singleton("uppercase", true, UpperCaseFilter::new),
            PreConfiguredTokenFilter.singleton("trim", true, TrimFilter::new)
        );
    }

    private static TokenFilterFactory simpleFilter(
        String name,
        Settings settings,
        java.util.function.Function<TokenStream, TokenStream> create
    ) {
        return new Normalizing(name, settings) {
            @Override
            public TokenStream create(TokenStream tokenStream) {
                return create.apply(tokenStream);
            }
        };
    }

    private static TokenizerFactory tokenizer(IndexSettings is, Settings settings, String name,
                                              java.util.function.Supplier<Tokenizer> create) {
        return new AbstractTokenizerFactory(is, settings, name) {
            @Override
            public Tokenizer create() {
                return create.get();
            }
        };
    }

    /** {@code pattern}: splits on a Java regex (default {@code \\W+}), or emits one capture group. */
    static final class PatternTokenizerFactory extends AbstractTokenizerFactory {
        private final Pattern pattern;
        private final int group;

        PatternTokenizerFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(indexSettings, settings, name);
            String regex = settings.get("pattern", "\\W+");
            this.pattern = Regex.compile(regex, settings.get("flags"));
            this.group = settings.getAsInt("group", -1);
        }

        @Override
        public Tokenizer create() {
            return new PatternTokenizer(pattern, group);
        }
    }

    /** {@code length}: drops tokens shorter than {@code min} or longer than {@code max} chars. */
    static final class LengthTokenFilterFactory extends AbstractTokenFilterFactory {
        private final int min;
        private final int max;

        LengthTokenFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name, settings);
            this.min = settings.getAsInt("min", 0);
            this.max = settings.getAsInt("max", Integer.MAX_VALUE);
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new LengthFilter(tokenStream, min, max);
        }
    }

    private abstract static class Normalizing extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        Normalizing(String name, Settings settings) {
            super(name, settings);
        }
    }

    /** {@code lowercase}: Lucene's LowerCaseFilter, or a language-specific one. */
    static final class LowercaseTokenFilterFactory extends Normalizing {
        private final String language;

        LowercaseTokenFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name, settings);
            this.language = settings.get("language");
            if (language != null && Set.of("greek", "irish", "turkish").contains(language.toLowerCase(Locale.ROOT)) == false) {
                throw new IllegalArgumentException("language [" + language + "] not support for lower case");
            }
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            if (language == null) {
                return new LowerCaseFilter(tokenStream);
            }
            return switch (language.toLowerCase(Locale.ROOT)) {
                case "greek" -> new GreekLowerCaseFilter(tokenStream);
                case "irish" -> new IrishLowerCaseFilter(tokenStream);
                default -> new TurkishLowerCaseFilter(tokenStream);
            };
        }
    }

    /** {@code asciifolding}: "Đồng" -> "Dong"; optionally keeps the original token too. */
    static final class AsciiFoldingTokenFilterFactory extends Normalizing {
        private final boolean preserveOriginal;

        AsciiFoldingTokenFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name, settings);
            this.preserveOriginal = settings.getAsBoolean("preserve_original", false);
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new ASCIIFoldingFilter(tokenStream, preserveOriginal);
        }

        @Override
        public TokenStream normalize(TokenStream tokenStream) {
            // A query term must normalise to exactly one token.
            return new ASCIIFoldingFilter(tokenStream, false);
        }
    }

    /** {@code html_strip}: removes markup, optionally keeping some tags. */
    static final class HtmlStripCharFilterFactory extends AbstractCharFilterFactory {
        private final Set<String> escapedTags;

        HtmlStripCharFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name);
            List<String> tags = settings.getAsList("escaped_tags");
            this.escapedTags = tags.isEmpty() ? null : Set.copyOf(tags);
        }

        @Override
        public Reader create(Reader reader) {
            return escapedTags == null ? new HTMLStripCharFilter(reader) : new HTMLStripCharFilter(reader, escapedTags);
        }
    }

    /**
     * {@code mapping}: rules {@code "key => value"}, as in Elasticsearch. Both
     * sides are trimmed and may use escapes (\\uXXXX, \\n, \\t, ...); an empty
     * value deletes the key. Offsets are corrected by Lucene's MappingCharFilter,
     * so highlighting lands on the original characters.
     */
    static final class MappingCharFilterFactory extends AbstractCharFilterFactory implements NormalizingCharFilterFactory {
        private static final Pattern RULE = Pattern.compile("(.*)\\s*=>\\s*(.*)\\s*$");
        private final NormalizeCharMap map;

        MappingCharFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
            super(name);
            List<String> rules = Analysis.getWordList(env, settings, "mappings");
            if (rules == null) {
                throw new IllegalArgumentException("mapping requires either `mappings` or `mappings_path` to be configured");
            }
            NormalizeCharMap.Builder builder = new NormalizeCharMap.Builder();
            Set<String> seen = new HashSet<>();
            for (String rule : rules) {
                Matcher m = RULE.matcher(rule);
                if (m.find() == false) {
                    throw new IllegalArgumentException("Invalid mapping rule : [" + rule + "]");
                }
                String key = unescape(m.group(1).trim());
                String value = unescape(m.group(2).trim());
                if (key.isEmpty()) {
                    throw new IllegalArgumentException("Invalid mapping rule: [" + rule + "]. Illegal mapping.");
                }
                if (seen.add(key) == false) {
                    throw new IllegalArgumentException("Invalid mapping rule: [" + rule + "]. Duplicate key [" + key + "].");
                }
                builder.add(key, value);
            }
            this.map = builder.build();
        }

        @Override
        public Reader create(Reader reader) {
            return new MappingCharFilter(map, reader);
        }

        static String unescape(String s) {
            StringBuilder out = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c != '\\' || i + 1 >= s.length()) {
                    out.append(c);
                    continue;
                }
                char e = s.charAt(++i);
                switch (e) {
                    case '\\', '"', '\'' -> out.append(e);
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        if (i + 4 >= s.length()) {
                            throw new IllegalArgumentException("Invalid escaped char in [" + s + "]");
                        }
                        out.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                        i += 4;
                    }
                    default -> out.append(e);
                }
            }
            return out.toString();
        }
    }
}

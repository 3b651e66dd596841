package docsvc.dss;

import eu.europa.esig.dss.diagnostic.DiagnosticData;
import eu.europa.esig.dss.diagnostic.SignatureWrapper;
import eu.europa.esig.dss.diagnostic.TimestampWrapper;
import eu.europa.esig.dss.jaxb.object.Message;
import eu.europa.esig.dss.model.FileDocument;
import eu.europa.esig.dss.service.crl.OnlineCRLSource;
import eu.europa.esig.dss.service.http.commons.CommonsDataLoader;
import eu.europa.esig.dss.service.http.commons.OCSPDataLoader;
import eu.europa.esig.dss.service.ocsp.OnlineOCSPSource;
import eu.europa.esig.dss.simplereport.SimpleReport;
import eu.europa.esig.dss.simplereport.jaxb.XmlTimestamp;
import eu.europa.esig.dss.spi.DSSUtils;
import eu.europa.esig.dss.spi.client.http.DataLoader;
import eu.europa.esig.dss.spi.exception.DSSExternalResourceException;
import eu.europa.esig.dss.spi.validation.CommonCertificateVerifier;
import eu.europa.esig.dss.spi.x509.CommonTrustedCertificateSource;
import eu.europa.esig.dss.spi.x509.aia.DefaultAIASource;
import eu.europa.esig.dss.validation.SignedDocumentValidator;
import eu.europa.esig.dss.validation.reports.Reports;

import java.io.File;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * docsvc's second, independent PAdES validator: the EU DSS library with its
 * default validation policy.
 *
 * <pre>
 *   java -cp 'lib/*' docsvc.dss.Validate [--offline] --trust ROOT.pem [--trust ...] FILE.pdf [FILE.pdf ...]
 * </pre>
 *
 * Prints one JSON object per line and per signature:
 * {"file", "id", "field", "indication", "subIndication", "signatureFormat",
 *  "qualification", "signedBy", "signingTime", "errors", "warnings", "timestamps"}.
 * A file DSS cannot read (or one without signatures) gives one line with
 * "file" and "error". Exit status is 0 whatever DSS concludes; 2 is a usage
 * error. Trust comes only from the --trust roots: no EU trusted list (LOTL)
 * is loaded, and the only network access is revocation data (OCSP, CRL) and
 * CA certificates (AIA) on loopback, where docsvc's development PKI answers.
 * --offline drops even that: DSS then sees only what the document embeds
 * (what a B-LT/B-LTA document must carry to be verifiable years later).
 */
public final class Validate {

    private Validate() {
    }

    public static void main(String[] args) throws Exception {
        // DSS logs a lot at INFO; keep stderr to warnings unless asked otherwise.
        // (Set before any DSS class creates its logger.)
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");

        List<File> roots = new ArrayList<>();
        List<File> files = new ArrayList<>();
        boolean offline = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--offline")) {
                offline = true;
            } else if (args[i].equals("--trust") && i + 1 < args.length) {
                roots.add(new File(args[++i]));
            } else if (args[i].startsWith("--")) {
                usage("unknown option " + args[i]);
            } else {
                files.add(new File(args[i]));
            }
        }
        if (roots.isEmpty() || files.isEmpty()) {
            usage("need at least one --trust ROOT.pem and one FILE.pdf");
        }

        CommonTrustedCertificateSource trusted = new CommonTrustedCertificateSource();
        for (File root : roots) {
            if (!root.isFile()) {
                usage("no such trust root: " + root);
            }
            trusted.addCertificate(DSSUtils.loadCertificate(root));
        }

        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        for (File file : files) {
            try {
                for (Map<String, Object> line : validate(file, verifier(trusted, offline))) {
                    out.println(Json.write(line));
                }
            } catch (Exception e) {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("file", file.getPath());
                line.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                out.println(Json.write(line));
            }
        }
    }

    private static void usage(String why) {
        System.err.println("docsvc.dss.Validate: " + why);
        System.err.println("usage: docsvc.dss.Validate [--offline] --trust ROOT.pem [--trust ROOT.pem ...] FILE.pdf [FILE.pdf ...]");
        System.exit(2);
    }

    /** A verifier per file: DSS caches what it fetched inside the verifier's sources. */
    private static CommonCertificateVerifier verifier(CommonTrustedCertificateSource trusted, boolean offline) {
        if (offline) {
            // No AIA source either: certificates, OCSP and CRLs only from the document.
            CommonCertificateVerifier verifier = new CommonCertificateVerifier(true);
            verifier.setTrustedCertSources(trusted);
            return verifier;
        }
        CommonCertificateVerifier verifier = new CommonCertificateVerifier();
        verifier.setTrustedCertSources(trusted);
        verifier.setOcspSource(new OnlineOCSPSource(new LoopbackOnly(new OCSPDataLoader())));
        verifier.setCrlSource(new OnlineCRLSource(new LoopbackOnly(new CommonsDataLoader())));
        verifier.setAIASource(new DefaultAIASource(new LoopbackOnly(new CommonsDataLoader())));
        return verifier;
    }

    private static List<Map<String, Object>> validate(File file, CommonCertificateVerifier verifier) {
        if (!file.isFile()) {
            throw new IllegalArgumentException("no such file: " + file);
        }
        SignedDocumentValidator validator = SignedDocumentValidator.fromDocument(new FileDocument(file));
        validator.setCertificateVerifier(verifier);
        // No argument: DSS's default validation policy (policy/constraint.xml
        // from dss-policy-jaxb), unchanged.
        Reports reports = validator.validateDocument();
        SimpleReport simple = reports.getSimpleReport();
        DiagnosticData diagnostic = reports.getDiagnosticData();

        List<Map<String, Object>> lines = new ArrayList<>();
        for (String id : simple.getSignatureIdList()) {
            SignatureWrapper signature = diagnostic.getSignatureById(id);
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("file", file.getPath());
            line.put("id", id);
            line.put("field", signature != null && signature.getPDFRevision() != null
                    ? signature.getPDFRevision().getFirstFieldName() : null);
            line.put("indication", str(simple.getIndication(id)));
            line.put("subIndication", str(simple.getSubIndication(id)));
            line.put("signatureFormat", str(simple.getSignatureFormat(id)));
            line.put("qualification", str(simple.getSignatureQualification(id)));
            line.put("signedBy", simple.getSignedBy(id));
            line.put("signingTime", simple.getSigningTime(id) == null ? null
                    : simple.getSigningTime(id).toInstant().toString());
            line.put("errors", messages(simple.getAdESValidationErrors(id)));
            line.put("warnings", messages(simple.getAdESValidationWarnings(id)));
            List<Map<String, Object>> timestamps = new ArrayList<>();
            for (XmlTimestamp timestamp : simple.getSignatureTimestamps(id)) {
                TimestampWrapper wrapper = diagnostic.getTimestampById(timestamp.getId());
                Map<String, Object> ts = new LinkedHashMap<>();
                ts.put("id", timestamp.getId());
                ts.put("type", wrapper == null ? null : str(wrapper.getType()));
                ts.put("indication", str(timestamp.getIndication()));
                ts.put("subIndication", str(timestamp.getSubIndication()));
                ts.put("producedBy", timestamp.getProducedBy());
                timestamps.add(ts);
            }
            line.put("timestamps", timestamps);
            lines.add(line);
        }
        if (lines.isEmpty()) {
            throw new IllegalStateException("DSS found no signature in the document");
        }
        return lines;
    }

    private static String str(Object value) {
        return value == null ? null : value.toString();
    }

    private static List<String> messages(List<Message> messages) {
        List<String> texts = new ArrayList<>();
        for (Message message : messages) {
            texts.add(message.getValue());
        }
        return texts;
    }

    /**
     * Refuses every URL whose host is not a loopback address, so validating a
     * document never reaches beyond this machine, whatever AIA or CRL
     * distribution points its certificates name.
     */
    static final class LoopbackOnly implements DataLoader {
        private static final long serialVersionUID = 1L;
        private final DataLoader delegate;

        LoopbackOnly(CommonsDataLoader delegate) {
            // Short timeouts: the dev PKI answers at once or not at all.
            delegate.setTimeoutConnection(5_000);
            delegate.setTimeoutConnectionRequest(5_000);
            delegate.setTimeoutResponse(10_000);
            delegate.setTimeoutSocket(10_000);
            this.delegate = delegate;
        }

        static boolean isLoopback(String url) {
            try {
                String host = URI.create(url).getHost();
                if (host == null) {
                    return false;
                }
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                if (host.equalsIgnoreCase("localhost")) {
                    return true;
                }
                // Only literal addresses (IPv4, or IPv6 which always has a
                // colon): a name would need DNS, which is off-machine.
                if (!host.matches("[0-9.]+") && !host.contains(":")) {
                    return false;
                }
                return InetAddress.getByName(host).isLoopbackAddress();
            } catch (Exception e) {
                return false;
            }
        }

        private static String checked(String url) {
            if (!isLoopback(url)) {
                throw new DSSExternalResourceException("docsvc.dss.Validate only fetches from loopback, not " + url);
            }
            return url;
        }

        @Override
        public byte[] get(String url) {
            return delegate.get(checked(url));
        }

        @Override
        public DataAndUrl get(List<String> urls) {
            List<String> allowed = new ArrayList<>();
            for (String url : urls) {
                if (isLoopback(url)) {
                    allowed.add(url);
                }
            }
            if (allowed.isEmpty()) {
                throw new DSSExternalResourceException("docsvc.dss.Validate only fetches from loopback, not " + urls);
            }
            return delegate.get(allowed);
        }

        @Override
        public byte[] post(String url, byte[] content) {
            return delegate.post(checked(url), content);
        }

        @Override
        public void setContentType(String contentType) {
            delegate.setContentType(contentType);
        }
    }

    /** Just enough JSON for strings, lists and maps (no library needed). */
    static final class Json {
        private Json() {
        }

        static String write(Object value) {
            StringBuilder out = new StringBuilder();
            write(value, out);
            return out.toString();
        }

        private static void write(Object value, StringBuilder out) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Map<?, ?> map) {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    if (!first) {
                        out.append(", ");
                    }
                    first = false;
                    string(String.valueOf(entry.getKey()), out);
                    out.append(": ");
                    write(entry.getValue(), out);
                }
                out.append('}');
            } else if (value instanceof Collection<?> list) {
                out.append('[');
                boolean first = true;
                for (Object item : list) {
                    if (!first) {
                        out.append(", ");
                    }
                    first = false;
                    write(item, out);
                }
                out.append(']');
            } else if (value instanceof Boolean || value instanceof Number) {
                out.append(value);
            } else {
                string(value.toString(), out);
            }
        }

        private static void string(String text, StringBuilder out) {
            out.append('"');
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    default -> {
                        if (c < 0x20) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            out.append('"');
        }
    }
}

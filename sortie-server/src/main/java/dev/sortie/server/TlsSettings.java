package dev.sortie.server;

import java.nio.file.Files;
import java.nio.file.Path;
import dev.sortie.core.config.ConfigException;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * HTTPS by configuration: a PKCS#12 (or JKS) keystore holding the server's key and certificate, its password read
 * from an environment variable (never from the command line, where {@code ps} shows it to everyone).
 */
public record TlsSettings(Path keystore, String passwordEnv) {

    public static TlsSettings of(Path keystore, String passwordEnv) {
        if (keystore == null) {
            if (passwordEnv != null) {
                throw new ConfigException("--tls-password-env needs --tls-keystore");
            }
            return null;
        }
        if (!Files.isRegularFile(keystore)) {
            throw new ConfigException("--tls-keystore " + keystore + ": no such file (a PKCS#12 keystore with the server's key and certificate)");
        }
        if (passwordEnv == null || System.getenv(passwordEnv) == null) {
            throw new ConfigException("--tls-password-env: name the environment variable that holds the keystore's password"
                    + (passwordEnv == null ? "" : " ($" + passwordEnv + " is not set)"));
        }
        return new TlsSettings(keystore.toAbsolutePath(), passwordEnv);
    }

    Connector connector(Server server, HttpConfiguration http, String host, int port) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStorePath(keystore.toString());
        ssl.setKeyStorePassword(System.getenv(passwordEnv));
        HttpConfiguration https = new HttpConfiguration(http);
        https.addCustomizer(new SecureRequestCustomizer(false));
        ServerConnector c = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(https));
        c.setHost(host);
        c.setPort(port);
        return c;
    }
}

package dev.sortie.cli.commands;

import dev.sortie.cli.access.CredentialsFile;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "logout", mixinStandardHelpOptions = true,
        description = "Forget the server 'sortie login' saved (its credentials file is deleted): commands use the local ledger again.")
public final class LogoutCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        CredentialsFile file = CredentialsFile.of(System.getenv());
        if (file.delete()) {
            System.err.println("sortie: logged out (" + file.path() + " deleted)");
        } else {
            System.err.println("sortie: not logged in (no " + file.path() + ")");
        }
        String env = System.getenv("SORTIE_SERVER");
        if (env != null && !env.isBlank()) {
            System.err.println("sortie: note: SORTIE_SERVER=" + env + " is still set in the environment: commands go to it");
        }
        return 0;
    }
}

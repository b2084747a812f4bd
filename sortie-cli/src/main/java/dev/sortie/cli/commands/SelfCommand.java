package dev.sortie.cli.commands;

import dev.sortie.cli.Main;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line that runs this sortie again as a process of its own on project {@code projectDir} (a watcher, a
 * recovery's launcher): the same java, classpath and SQLite native-library settings, so the child finds what this
 * process found.
 */
final class SelfCommand {
    private SelfCommand() {
    }

    /** {@code java [jvmOptions] [-Dsqlite props] -cp CP Main -C projectDir args...}. */
    static List<String> of(Path projectDir, List<String> jvmOptions, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(jvmOptions);
        for (String prop : new String[] {"org.sqlite.lib.path", "org.sqlite.lib.name"}) {
            String v = System.getProperty(prop);
            if (v != null) {
                cmd.add("-D" + prop + "=" + v);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("-C");
        cmd.add(projectDir.toString());
        cmd.addAll(args);
        return cmd;
    }
}

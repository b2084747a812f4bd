package dev.sortie.core.engine;

import dev.sortie.core.config.ConfigException;
import java.util.regex.Pattern;

/**
 * What an experiment may be named. Commands find an experiment by its id first, then by its name, then by an id
 * prefix of 4 or more characters; so a name that could be an id or an id prefix (4 to 10 of 0-9 and a-f, like
 * {@code 4391dd5281}) would hide another experiment, or be hidden by one, and is refused.
 */
final class ExperimentNames {
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    /** Ids are 10 lowercase hex digits ({@link ExperimentFactory#newId}); prefixes resolve from 4. */
    private static final Pattern ID_LIKE = Pattern.compile("[0-9a-f]{4,10}");

    private ExperimentNames() {
    }

    /** Fails with a {@link ConfigException} saying why and what would be valid when {@code name} cannot be a name. */
    static void check(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException("'" + name + "' is not a valid experiment name (letters, digits, '.', '_', '-'; up to 100;"
                    + " starting with a letter or digit)");
        }
        if (ID_LIKE.matcher(name).matches()) {
            throw new ConfigException("'" + name + "' cannot be an experiment name: it looks like an experiment id (4 to 10 of 0-9"
                    + " and a-f), and commands read it as an id or an id prefix first, so the experiment could not be reached by"
                    + " its name; use a name with another character, e.g. 'run-" + name + "'");
        }
    }
}

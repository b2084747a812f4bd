#!/usr/bin/env bash
# The simulated cloud's own tests: installs what it needs (setup.sh, fast when done), then runs them.
#   testkit/simcloud/run-tests.sh [unittest args, e.g. -k spot]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
eval "$("$here/setup.sh")"
cd "$here"
exec "$VENV/bin/python" -m unittest discover -s tests -v "$@"

# Sourced by benchmarks/run and tests/run: makes .venv (this checkout's tools) and activates it.
# Installs only what is missing, so a second run takes seconds.  Needs no root: Debian packages
# are for tests/run alone.
set -euo pipefail
FIBEXT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$FIBEXT_ROOT"
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate

stamp=.venv/.fibext-requirements
want=$(cat benchmarks/requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setting up .venv (the tools' Python packages, once)..." >&2
    python -m pip install -q --upgrade pip
    # The build requirements and the test extra, read from pyproject.toml (one list of each).
    python - <<'PY' > .venv/requirements-from-pyproject.txt
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
print("\n".join(project["build-system"]["requires"] + project["project"]["optional-dependencies"]["test"]))
PY
    python -m pip install -q -r benchmarks/requirements.txt -r .venv/requirements-from-pyproject.txt wheel
    echo "$want" > "$stamp"
fi

# ccache, where the machine has it (tests/run installs it; the main job does without): its
# directory of compiler names goes first on the PATH, so every build below (asv's wheel of each
# commit, the tests' wheels) compiles through it with the very command it would run anyway.
# A commit compiles only the C that changed (a wheel of the drill's: 14-18 s alone, 4 s), and
# the wheel's files are the same bytes, so a build's identity (builds.py) does not move.
use_ccache() {
    if [ -d /usr/lib/ccache ] && [[ ":$PATH:" != *":/usr/lib/ccache:"* ]]; then
        export PATH="/usr/lib/ccache:$PATH"
    fi
}
use_ccache

# Sourced by benchmarks/run and tests/run: makes .venv (this checkout's tools) and activates it.
# Installs only what is missing, so a second run takes seconds.
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
    python -m pip install -q --upgrade pip
    python -m pip install -q -r benchmarks/requirements.txt "Cython>=3" "setuptools>=64" wheel
    # The test extra, read from pyproject.toml (one list of test dependencies).
    python - <<'PY' > .venv/test-requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))
PY
    python -m pip install -q -r .venv/test-requirements.txt
    echo "$want" > "$stamp"
fi

# Debian packages some tests drive (valgrind: exact instruction counts and memcheck; chromium:
# the browser test, driven by pip's playwright, which downloads no browser of its own).
need_apt=()
command -v valgrind >/dev/null || need_apt+=(valgrind)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
    else
        echo "missing Debian packages: ${need_apt[*]} (install them with apt-get as root)" >&2
        exit 1
    fi
fi

# Sourced by scripts/run, scripts/test and scripts/bench: create or reuse .venv at the
# repository root and install rlsaudio with both speech engines into it.
# Needs only Python >= 3.11 and a package index; no system packages, no sudo.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
    for py in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python; do
        [ -n "$py" ] || continue
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    echo "rlsaudio: Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11" >&2
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)"
    echo "Creating $VENV with $PY" >&2
    "$PY" -m venv "$VENV"
fi

# Reinstall only when the project's dependencies change (pyproject.toml is the only input).
STAMP="$VENV/.rlsaudio-installed"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "Installing rlsaudio and its dependencies into .venv (first run takes a minute)" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[espeak,piper,loudness,test]" >&2
    echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

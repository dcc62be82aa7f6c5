# Sourced by scripts/run, scripts/test and scripts/bench: create or reuse .venv at the
# repository root and install rlsaudio (with both voices) into it, plus the extras a script
# names in RLSAUDIO_EXTRAS (scripts/test: "test"). Needs only Python >= 3.11 and a package
# index; no system packages, no sudo. pip's own output goes to .venv/install.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${RLSAUDIO_EXTRAS:-}"

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

# Runs pip in the background; on a terminal, one line shows what pip is doing and for how long.
pip_with_progress() {
    local log="$VENV/install.log" started=$SECONDS pid status
    "$VENV/bin/python" -m pip install --progress-bar off "$@" >>"$log" 2>&1 &
    pid=$!
    if [ -t 2 ]; then
        while kill -0 "$pid" 2>/dev/null; do
            local doing
            doing="$(grep -E '^(Collecting|Downloading|Installing collected|Building|Successfully)' "$log" 2>/dev/null \
                     | tail -1 | cut -c1-60)"
            printf '\r\033[K  %3ds  %s' $((SECONDS - started)) "${doing:-starting pip}" >&2
            sleep 0.5
        done
        printf '\r\033[K' >&2
    fi
    status=0
    wait "$pid" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "rlsaudio: installing failed (pip exit status $status); the last lines of $log:" >&2
        tail -n 15 "$log" >&2
        exit 1
    fi
    echo "  done in $((SECONDS - started)) s" >&2
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)"
    echo "Creating $VENV with $("$PY" -c 'import sys; print("Python %d.%d.%d" % sys.version_info[:3])')" >&2
    "$PY" -m venv "$VENV"
fi

# Reinstall only when pyproject.toml changes or an extra is asked for that is not installed yet.
STAMP="$VENV/.rlsaudio-installed"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
HAVE_HASH=""
HAVE_EXTRAS=""
if [ -f "$STAMP" ]; then
    read -r HAVE_HASH HAVE_EXTRAS < "$STAMP" || true
fi
[ "$HAVE_HASH" = "$WANT" ] || HAVE_EXTRAS=""
# (grep finds nothing when no extras are wanted: that is not a failure under pipefail)
ALL_EXTRAS="$(printf '%s\n' ${HAVE_EXTRAS//,/ } ${EXTRAS//,/ } | { grep -v '^-$' || true; } | sort -u | paste -sd, -)"
if [ "$HAVE_HASH" != "$WANT" ] || [ "$ALL_EXTRAS" != "${HAVE_EXTRAS#-}" ]; then
    : >"$VENV/install.log"
    target="$ROOT"
    [ -n "$ALL_EXTRAS" ] && target="$ROOT[$ALL_EXTRAS]"
    echo "Installing rlsaudio with its two voices${ALL_EXTRAS:+ and the $ALL_EXTRAS tools} into .venv" \
         "(usually 20 to 60 s; the log is .venv/install.log)" >&2
    pip_with_progress --upgrade pip
    pip_with_progress -e "$target"
    echo "$WANT ${ALL_EXTRAS:--}" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

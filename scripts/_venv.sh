# Sourced by scripts/run, scripts/test and scripts/bench: create or reuse .venv at the
# repository root and install rlsaudio (with its voices) into it, plus the extras a script
# names in RLSAUDIO_EXTRAS (scripts/test: "test"). Needs only Python >= 3.11 and a package
# index; no system packages, no sudo. pip's own output goes to .venv/install.log.
#
# The scripts run under `set -euo pipefail`, so every command here whose failure is expected
# (grep finding nothing, a process already gone) says so with `|| true`: a progress line must
# never end the install. pip runs in the background and is stopped with its children when the
# script is interrupted (Ctrl-C, SIGTERM, SIGHUP) or ends early for any reason.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${RLSAUDIO_EXTRAS:-}"
PIP_PID=""

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

# What pip is doing now: the last line of its log, after byte $2, that names a step, cut to $3
# characters; nothing when there is none yet.
pip_activity() {
    { tail -c +"$(($2 + 1))" "$1" 2>/dev/null \
        | grep -E '^(Collecting|Downloading|Processing|Installing collected|Building|Successfully)' || true; } \
        | tail -n 1 | cut -c1-"$3"
}

# pip and whatever it started (build back-ends), then pip itself; quietly if already gone.
stop_pip() {
    [ -n "$PIP_PID" ] || return 0
    pkill -TERM -P "$PIP_PID" 2>/dev/null || true
    kill -TERM "$PIP_PID" 2>/dev/null || true
    wait "$PIP_PID" 2>/dev/null || true
    PIP_PID=""
}

interrupted() {
    local code="$1"
    stop_pip
    [ -t 2 ] && printf '\r\033[K' >&2
    echo "rlsaudio: installing was interrupted; run the same command again to finish (the log is $VENV/install.log)" >&2
    exit "$code"
}

trap 'stop_pip' EXIT
trap 'interrupted 130' INT
trap 'interrupted 143' TERM
trap 'interrupted 129' HUP

# Runs pip in the background; on a terminal, one line shows what pip is doing and for how long,
# refreshed twice a second and cut to the terminal's width.
pip_with_progress() {
    local log="$VENV/install.log" started=$SECONDS status=0 doing width offset
    offset="$(stat -c %s "$log" 2>/dev/null || echo 0)"
    "$VENV/bin/python" -m pip install --progress-bar off "$@" >>"$log" 2>&1 &
    PIP_PID=$!
    if [ -t 2 ]; then
        width="$( { stty size <&2 2>/dev/null || true; } | cut -d' ' -f2)"
        [[ "$width" =~ ^[0-9]+$ ]] && [ "$width" -ge 20 ] || width=80
        while kill -0 "$PIP_PID" 2>/dev/null; do
            doing="$(pip_activity "$log" "$offset" $((width - 9)))"
            printf '\r\033[K  %3ds  %s' $((SECONDS - started)) "${doing:-starting pip}" >&2
            sleep 0.5
        done
        printf '\r\033[K' >&2
    fi
    wait "$PIP_PID" || status=$?
    PIP_PID=""
    if [ "$status" -ne 0 ]; then
        echo "rlsaudio: installing failed (pip exit status $status); the last lines of $log:" >&2
        tail -n 15 "$log" >&2 || true
        exit 1
    fi
    echo "  done in $((SECONDS - started)) s" >&2
}

STAMP="$VENV/.rlsaudio-installed"
# A venv whose creation was interrupted has a python but no pip: make it again.
if [ -x "$VENV/bin/python" ] && [ ! -f "$STAMP" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "Making $VENV again: an earlier set-up did not finish" >&2
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)"
    echo "Creating $VENV with $("$PY" -c 'import sys; print("Python %d.%d.%d" % sys.version_info[:3])')" >&2
    "$PY" -m venv "$VENV"
fi

# Reinstall only when pyproject.toml changes or an extra is asked for that is not installed yet.
# The stamp is written only after pip succeeded, so an interrupted or failed install is redone.
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
HAVE_HASH=""
HAVE_EXTRAS=""
if [ -f "$STAMP" ]; then
    read -r HAVE_HASH HAVE_EXTRAS < "$STAMP" || true
fi
[ "$HAVE_HASH" = "$WANT" ] || HAVE_EXTRAS=""
ALL_EXTRAS="$(printf '%s\n' ${HAVE_EXTRAS//,/ } ${EXTRAS//,/ } | { grep -v '^-$' || true; } | sort -u | paste -sd, -)"
if [ "$HAVE_HASH" != "$WANT" ] || [ "$ALL_EXTRAS" != "${HAVE_EXTRAS#-}" ]; then
    rm -f "$STAMP"
    : >"$VENV/install.log"
    target="$ROOT"
    [ -n "$ALL_EXTRAS" ] && target="$ROOT[$ALL_EXTRAS]"
    echo "Installing rlsaudio with its voices${ALL_EXTRAS:+ and the $ALL_EXTRAS tools} into .venv" \
         "(usually 20 to 60 s; the log is .venv/install.log)" >&2
    pip_with_progress --upgrade pip
    pip_with_progress -e "$target"
    echo "$WANT ${ALL_EXTRAS:--}" > "$STAMP"
fi
trap - EXIT INT TERM HUP
export PATH="$VENV/bin:$PATH"

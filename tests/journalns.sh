# journalns.sh: sourced first by the journald tests. Re-runs the test in a private mount namespace
# (its own tmpfs /run and /var/log) with a real systemd-journald there, so the host's journal is
# neither needed nor touched; then sources lib.sh and sets JOURNALD_PID. Needs root (CI runs as
# root); without a namespace or journald the test fails, it does not skip.

JOURNALD=${JOURNALD:-/lib/systemd/systemd-journald}
if [ -z "${AW_JOURNAL_NS:-}" ]; then
    why=
    if ! command -v unshare >/dev/null; then
        why="unshare(1) not found (util-linux)"
    elif [ ! -x "$JOURNALD" ]; then
        why="$JOURNALD not found (the systemd package)"
    elif ! err=$(unshare -m true 2>&1); then
        why="cannot create a mount namespace (unshare -m: $err); run as root"
    fi
    if [ -n "$why" ]; then
        echo "FAIL - journald test environment: $why"
        echo "$(basename "$0"): 1 checks, 1 failed"
        exit 1
    fi
    # The whole test runs in the namespace; its mounts vanish with its last process.
    AW_JOURNAL_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi

. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

if ! mount -t tmpfs tmpfs /run || ! mount -t tmpfs tmpfs /var/log; then
    fail "journald test environment: cannot mount a private /run and /var/log"
    aw_done
fi
mkdir -p /run/systemd/journal
"$JOURNALD" >"$AW_TMP/journald.log" 2>&1 &
JOURNALD_PID=$!
aw_pids+=("$JOURNALD_PID")
if ! wait_for 10 test -S /run/systemd/journal/socket; then
    fail "journald test environment: $JOURNALD did not come up"; cat "$AW_TMP/journald.log"
    aw_done
fi

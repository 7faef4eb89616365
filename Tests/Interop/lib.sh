# shellcheck shell=bash
# Shared helpers for the interop scripts in this folder. Sourced, not run.
#
# Output is TAP-like: one `ok - description` or `not ok - description: details` line per check.
# A check that fails because of a known, reported Beacon bug is printed with a `# TODO BUG-ID`
# suffix and does not fail the script; set BEACON_STRICT=1 to count it (when checking a fix).
#
# Every process started through these helpers is recorded by PID and stopped by PID in an EXIT
# trap (also on failure, Ctrl-C or the watchdog); nothing is ever killed by name.

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$INTEROP_DIR/../.." && pwd)

# The binary under test: $BEACON_BIN (relative paths are taken from the caller's cwd), else the
# release build of this checkout. Nothing here builds it.
BEACON_BIN=${BEACON_BIN:-$REPO_ROOT/.build/release/beacon}
case $BEACON_BIN in /*) ;; *) BEACON_BIN=$PWD/$BEACON_BIN ;; esac

CHECKS=0
FAILURES=0
TODOS=0
SKIPS=0
WORKDIR=
BEACON_PID=
BEACON_DNS_PORT=
BEACON_HTTP_PORT=
WATCHDOG_PID=
declare -a EXTRA_PIDS=()

ok() {
    CHECKS=$((CHECKS + 1))
    echo "ok - $1"
}

not_ok() {
    CHECKS=$((CHECKS + 1))
    FAILURES=$((FAILURES + 1))
    echo "not ok - $1: $2"
}

# check DESCRIPTION CONDITION-RESULT DETAILS: ok when the previous command status ($2) is 0.
check() {
    if [[ $2 -eq 0 ]]; then ok "$1"; else not_ok "$1" "$3"; fi
}

# known_bug BUG-ID DESCRIPTION STATUS DETAILS: a check that Beacon is known to fail (reported to
# the lead). It still runs and prints its real result; it only fails the script under BEACON_STRICT=1.
known_bug() {
    local bug=$1 description=$2 status=$3 details=$4
    if [[ ${BEACON_STRICT:-0} == 1 ]]; then
        check "$description" "$status" "$details"
        return
    fi
    CHECKS=$((CHECKS + 1))
    if [[ $status -eq 0 ]]; then
        echo "ok - $description # TODO $bug (passes now: promote it to a plain check)"
    else
        TODOS=$((TODOS + 1))
        echo "not ok - $description: $details # TODO $bug"
    fi
}

skip() {
    SKIPS=$((SKIPS + 1))
    echo "ok - $1 # SKIP $2"
}

note() {
    echo "# $*"
}

# Prints the summary ("NAME: N passed, N failed, N skipped"; skipped counts SKIPs and the
# TODO checks of known Beacon bugs that still fail) and returns the script's exit status.
finish() {
    local name
    name=$(basename "$0" .sh)
    [[ $TODOS -eq 0 ]] || echo "# $TODOS check(s) failed on known Beacon bugs (TODO, see above; BEACON_STRICT=1 counts them)"
    echo "# ${SECONDS}s"
    echo "$name: $((CHECKS - FAILURES - TODOS)) passed, $FAILURES failed, $((SKIPS + TODOS)) skipped"
    [[ $FAILURES -eq 0 ]]
}

# Milliseconds since the epoch.
now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}

# A TCP port on 127.0.0.1 that is free for both TCP and UDP right now.
free_port() {
    python3 - <<'EOF'
import socket
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    u.close()
    t.close()
    print(port)
    break
EOF
}

stop_pid() {
    # stop_pid PID [GRACE-SECONDS]: SIGTERM, then SIGKILL after the grace period; reaps it.
    local pid=$1 grace=${2:-5} i
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "# pid $pid did not stop on SIGTERM within ${grace}s: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${EXTRA_PIDS[@]}"; do stop_pid "$pid"; done
    stop_pid "$BEACON_PID"
    BEACON_PID=
    stop_pid "$WATCHDOG_PID" 1
    if [[ -n $WORKDIR && -d $WORKDIR ]]; then
        if [[ ${KEEP_WORKDIR:-0} == 1 ]]; then
            echo "# kept $WORKDIR" >&2
        else
            rm -rf "$WORKDIR"
        fi
    fi
    exit "$status"
}

# setup_common NAME LIMIT-SECONDS: temp dir, traps, and a watchdog that ends the script (through
# the traps) if it runs longer than LIMIT seconds.
setup_common() {
    WORKDIR=$(mktemp -d "/tmp/beacon-$1.XXXXXX")
    trap cleanup EXIT
    trap 'echo "not ok - interrupted (signal)"; exit 130' INT
    trap 'echo "not ok - watchdog: the script ran longer than its time limit"; exit 124' TERM
    local parent=$$ limit=${INTEROP_TIME_LIMIT:-$2}
    (
        # Stops its own sleep when stopped, so it leaves nothing behind.
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$limit" &
        sleeper=$!
        wait "$sleeper" && kill -TERM "$parent"
    ) &
    WATCHDOG_PID=$!
}

require_tools() {
    local tool missing=()
    for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "not ok - required tools are installed: missing ${missing[*]} (run .ci/run, or apt-get install them)"
        exit 1
    fi
    if [[ ! -x $BEACON_BIN ]]; then
        echo "not ok - the Beacon binary exists: $BEACON_BIN is not executable (swift build -c release, or set BEACON_BIN)"
        exit 1
    fi
}

# start_beacon ZONES-DIR [EXTRA FLAGS...]: starts Beacon on free loopback ports and waits until it
# answers HTTP and DNS. Sets BEACON_PID, BEACON_DNS_PORT, BEACON_HTTP_PORT, BEACON_URL.
start_beacon() {
    local zones=$1 attempt i
    shift
    for attempt in 1 2 3; do
        BEACON_DNS_PORT=$(free_port)
        BEACON_HTTP_PORT=$(free_port)
        [[ $BEACON_DNS_PORT != "$BEACON_HTTP_PORT" ]] || continue
        BEACON_URL=http://127.0.0.1:$BEACON_HTTP_PORT
        "$BEACON_BIN" serve --dns "127.0.0.1:$BEACON_DNS_PORT" --http "127.0.0.1:$BEACON_HTTP_PORT" \
            --in-memory --zones "$zones" "$@" 2>"$WORKDIR/beacon.log" &
        BEACON_PID=$!
        for ((i = 0; i < 100; i++)); do
            if ! kill -0 "$BEACON_PID" 2>/dev/null; then break; fi
            if curl -sf -m 1 "$BEACON_URL/healthz" >/dev/null 2>&1 \
                && dig -p "$BEACON_DNS_PORT" @127.0.0.1 +tries=1 +timeout=1 +short local. SOA >/dev/null 2>&1; then
                note "beacon $BEACON_BIN pid $BEACON_PID: dns 127.0.0.1:$BEACON_DNS_PORT, http 127.0.0.1:$BEACON_HTTP_PORT"
                return 0
            fi
            sleep 0.1
        done
        if kill -0 "$BEACON_PID" 2>/dev/null; then
            not_ok "beacon starts" "not answering after 10 s; log: $(tail -5 "$WORKDIR/beacon.log")"
            exit 1
        fi
        wait "$BEACON_PID"
        echo "# beacon exited at start (attempt $attempt): $(tail -3 "$WORKDIR/beacon.log")" >&2
        BEACON_PID=
    done
    not_ok "beacon starts" "gave up after 3 attempts; log: $(tail -5 "$WORKDIR/beacon.log")"
    exit 1
}

# stop_beacon_checked: SIGTERM, and checks the clean exit the contract promises (status 0).
stop_beacon_checked() {
    local pid=$BEACON_PID status i
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        not_ok "beacon stops within 5 s of SIGTERM" "still running; SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        BEACON_PID=
        return
    fi
    wait "$pid"
    status=$?
    BEACON_PID=
    check "beacon exits 0 on SIGTERM" "$([[ $status -eq 0 ]]; echo $?)" "exit status $status; log: $(tail -3 "$WORKDIR/beacon.log")"
}

# register JSON: POST /v1/register, prints the reply body; non-zero unless HTTP 200.
register() {
    curl -sf -m 5 -XPOST "$BEACON_URL/v1/register" -H 'Content-Type: application/json' -d "$1"
}

heartbeat() {
    curl -sf -m 5 -XPOST "$BEACON_URL/v1/instances/$1/heartbeat"
}

deregister() {
    curl -sf -m 5 -XDELETE "$BEACON_URL/v1/instances/$1"
}

# json_field JSON FIELD: a string or number field of Beacon's flat JSON replies (the first one of
# that name). In bash, not python: a python start-up costs 0.2 s behind a pyenv shim, and the
# timing checks sample often.
json_field() {
    local pattern="\"$2\":(\"[^\"]*\"|[-0-9.eE+]+)"
    [[ $1 =~ $pattern ]] || return 1
    local value=${BASH_REMATCH[1]}
    value=${value#\"}
    echo "${value%\"}"
}

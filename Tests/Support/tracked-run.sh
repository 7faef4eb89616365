# Sourced by the shell wrappers of the multi-process Python checks (etcd-cluster.sh, tls.sh).
# run_tracked SECONDS SCRIPT: runs SCRIPT under `timeout` with $CLUSTER_PIDS naming a file where
# clusterlib records the PID of every process it starts, and returns its status. On any exit the
# runner is stopped, then whatever it could not stop (it was killed itself) is killed by PID, never
# by name, and only while that PID still runs etcd or $BEACON_BIN (it may have been reused since).
run_tracked() {
    local seconds=$1 script=$2 status
    export CLUSTER_PIDS
    CLUSTER_PIDS="$(mktemp)"
    tracked_runner=""
    trap tracked_cleanup EXIT
    trap 'exit 130' INT TERM
    timeout --signal=TERM --kill-after=10 "$seconds" python3 -u "$script" &
    tracked_runner=$!
    wait "$tracked_runner"
    status=$?
    tracked_runner=""
    return "$status"
}

tracked_cleanup() {
    [ -n "$tracked_runner" ] && kill -TERM "$tracked_runner" 2>/dev/null && wait "$tracked_runner" 2>/dev/null
    local pid cmd
    while read -r pid; do
        cmd="$( { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null )"
        case "$cmd" in
            etcd\ *|"$BEACON_BIN"\ *) kill -KILL "$pid" 2>/dev/null ;;
        esac
    done < "$CLUSTER_PIDS"
    rm -f "$CLUSTER_PIDS"
}

#!/usr/bin/env bash
# Every shipped zone file must be accepted by two independent zone parsers: Knot's `kzonecheck`
# (knot-dnssecutils) and BIND's `named-checkzone` (bind9-utils). The origin is the file name minus
# `.zone`, as Beacon loads it.
#
#   Tests/Interop/zonecheck.sh [FILE.zone ...]
#
# Without arguments: zones/*.zone and the interop test zone(s) in Tests/Interop/*.zone. A checker
# that is not installed is reported as not ok (run .ci/run, or apt-get install knot-dnssecutils
# bind9-utils).
set -uo pipefail

# shellcheck source=Tests/Interop/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ $# -gt 0 ]]; then
    files=("$@")
else
    shopt -s nullglob
    files=("$REPO_ROOT"/zones/*.zone "$INTEROP_DIR"/*.zone)
    shopt -u nullglob
fi
if [[ ${#files[@]} -eq 0 ]]; then
    not_ok "zone files to check" "none found under $REPO_ROOT/zones"
    finish
    exit
fi

checkers=()
for tool in kzonecheck named-checkzone; do
    if command -v "$tool" >/dev/null; then
        checkers+=("$tool")
    else
        not_ok "$tool is installed" "not found on PATH"
    fi
done

for file in "${files[@]}"; do
    base=$(basename "$file")
    origin=${base%.zone}.
    shown=${file#"$REPO_ROOT"/}
    for tool in "${checkers[@]}"; do
        case $tool in
            kzonecheck)
                output=$(kzonecheck -v -o "$origin" "$file" 2>&1) ;;  # -v names the line of an error
            named-checkzone)
                # Strict where it costs nothing: bad host names, MX/SRV/NS pointing at CNAMEs or
                # at addresses fail instead of warning.
                output=$(named-checkzone -k fail -m fail -M fail -n fail -S fail "$origin" "$file" 2>&1) ;;
        esac
        status=$?
        if [[ $status -eq 0 ]]; then
            ok "$tool accepts $shown (origin $origin)"
            warnings=$(grep -viE '^OK$|loaded serial|No semantic error found' <<<"$output")
            [[ -z $warnings ]] || note "$tool on $shown: $(tr '\n' '|' <<<"$warnings")"
        else
            not_ok "$tool accepts $shown (origin $origin)" "exit $status: $(tr '\n' '|' <<<"$output")"
        fi
    done
done

finish

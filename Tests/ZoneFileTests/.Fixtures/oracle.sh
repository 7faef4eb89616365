#!/usr/bin/env bash
# Differential check of what the ZoneFile tests accept: every fixture zone here and every zone in
# zones/ must also load in BIND (named-checkzone) and Knot (kzonecheck), with the origin the server
# gives it (the file name minus .zone). Tools that are not installed are skipped, not failed:
#   apt-get install -y bind9-utils knot-dnssecutils
# Usage: bash Tests/ZoneFileTests/.Fixtures/oracle.sh   (from the repository root or anywhere)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
status=0
ran=0
for zone in "$here"/*.zone "$root"/zones/*.zone; do
    [ -e "$zone" ] || continue
    origin="$(basename "$zone" .zone)."
    dir=$(dirname "$zone")
    # $INCLUDE paths are relative to the zone's folder, as Beacon resolves them.
    if command -v named-checkzone >/dev/null; then
        ran=1
        (cd "$dir" && named-checkzone -q "$origin" "$(basename "$zone")") ||
            { echo "named-checkzone rejects $zone"; status=1; }
    fi
    if command -v kzonecheck >/dev/null; then
        ran=1
        (cd "$dir" && kzonecheck -o "$origin" "$(basename "$zone")") ||
            { echo "kzonecheck rejects $zone"; status=1; }
    fi
done
[ "$ran" = 1 ] || echo "oracle.sh: neither named-checkzone nor kzonecheck is installed; nothing checked"
exit $status

#!/bin/sh
# shard-entrypoint.sh: run one shard of a livecheck sweep, as one pod of a
# Kubernetes Indexed Job (docs/scale-out/k8s-indexed-job.yaml) or any other
# runner that numbers its workers from 0.
#
#   JOB_COMPLETION_INDEX  this worker's index, 0-based (Kubernetes sets it in
#                         every pod of a Job with completionMode: Indexed)
#   LIVECHECK_SHARDS      how many workers there are (N; the Job's completions)
#   LIVECHECK_OUT_DIR     where to write this shard's JSON (created if missing)
#   LIVECHECK             the livecheck binary (default: livecheck on PATH)
#
# Arguments: the sweep, as for `livecheck sweep` (POLICY --env ENV --vary ...),
# without --shard and --format. Index i runs `--shard (i+1)/N --format json`
# (livecheck numbers shards 1..N) and writes LIVECHECK_OUT_DIR/shard-(i+1)-of-N.json,
# only when the sweep ran (exit 0): a failed shard leaves no file, so
# `livecheck sweep-merge` reports it missing instead of merging half a shard.
#
# Exit status: livecheck's (0 ran, 1 checker failure, 2 bad sweep input), or 2
# with a message when the index, the count or the arguments are wrong.
set -u

refuse() {
    echo "shard-entrypoint: $*" >&2
    exit 2
}

# A decimal count without sign or leading zeros, small enough for shell
# arithmetic ("08" would be octal to some shells, so it is refused).
is_count() {
    case $1 in
        0) return 0 ;;
        '' | 0* | *[!0-9]*) return 1 ;;
    esac
    [ "${#1}" -le 9 ]
}

[ -n "${JOB_COMPLETION_INDEX:-}" ] ||
    refuse "JOB_COMPLETION_INDEX is not set: this runs one pod of an Indexed Job (completionMode: Indexed), which sets it to 0..N-1"
is_count "$JOB_COMPLETION_INDEX" ||
    refuse "JOB_COMPLETION_INDEX=\"$JOB_COMPLETION_INDEX\" is not a whole number 0..N-1"
[ -n "${LIVECHECK_SHARDS:-}" ] ||
    refuse "LIVECHECK_SHARDS is not set: give the number of shards N (the Job's completions)"
is_count "$LIVECHECK_SHARDS" && [ "$LIVECHECK_SHARDS" -ge 1 ] ||
    refuse "LIVECHECK_SHARDS=\"$LIVECHECK_SHARDS\" is not a whole number of at least 1"
[ "$JOB_COMPLETION_INDEX" -lt "$LIVECHECK_SHARDS" ] ||
    refuse "JOB_COMPLETION_INDEX=$JOB_COMPLETION_INDEX is out of range for LIVECHECK_SHARDS=$LIVECHECK_SHARDS (0..$((LIVECHECK_SHARDS - 1))): completions and LIVECHECK_SHARDS disagree"
[ -n "${LIVECHECK_OUT_DIR:-}" ] ||
    refuse "LIVECHECK_OUT_DIR is not set: give the directory for the shard's JSON"
[ "$#" -gt 0 ] ||
    refuse "no sweep given: pass POLICY --env ENV --vary KEY=FROM..TO/STEP ... as arguments"
for arg in "$@"; do
    case $arg in
        --shard | --shard=* | --format | --format=*)
            refuse "do not pass $arg: the entrypoint sets --shard and --format json itself" ;;
    esac
done
mkdir -p "$LIVECHECK_OUT_DIR" || refuse "cannot create LIVECHECK_OUT_DIR=$LIVECHECK_OUT_DIR"

n=$LIVECHECK_SHARDS
i=$((JOB_COMPLETION_INDEX + 1))
out="$LIVECHECK_OUT_DIR/shard-$i-of-$n.json"
tmp="$LIVECHECK_OUT_DIR/.shard-$i-of-$n.json.partial"
echo "shard-entrypoint: JOB_COMPLETION_INDEX=$JOB_COMPLETION_INDEX -> --shard $i/$n -> $out" >&2

"${LIVECHECK:-livecheck}" sweep "$@" --shard "$i/$n" --format json >"$tmp"
status=$?
if [ "$status" -ne 0 ]; then
    rm -f "$tmp"
    echo "shard-entrypoint: livecheck sweep exited $status; no $out written" >&2
    exit "$status"
fi
if ! mv -f "$tmp" "$out"; then
    echo "shard-entrypoint: cannot move $tmp to $out" >&2
    exit 1
fi
echo "shard-entrypoint: wrote $out" >&2

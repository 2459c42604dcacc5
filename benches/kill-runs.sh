#!/usr/bin/env bash
# kill-runs.sh [-n KILLS] [-o OUTDIR] [HUGE.jpg [MARK.jpg]]
#
# Kills real `jpgtool shrink` and `jpgtool mark` runs with SIGTERM and SIGKILL at random moments
# and checks after every kill that nothing was left behind:
#   - the output folder holds exactly the files it held before the run (no .jpgtool-*.part, no
#     partial output), checked right after the kill, before any other run;
#   - the existing output that the run was replacing is byte-identical (sha256);
#   - the exit status is 143 for SIGTERM, death by signal 9 for SIGKILL, or 0 when the run
#     finished before the signal (then the output must be a complete JPEG, and it is restored
#     for the next round).
# With O_TMPFILE nothing is ever named before it is complete, so no stale-file cleanup is
# needed to pass; a SIGKILL that lands between the link and the rename of a replacement would
# leave a .jpgtool-<pid>-*.part file, which the script reports separately (it would be removed by
# the next run into the folder) — it counts as a failure here, since the check runs before the
# next run.
#
# HUGE.jpg: the shrink input (default: made by ../shared/corpus/make-huge.sh with
# SIZES=24000x4000 in a temporary folder). MARK.jpg: the mark input (default: the corpus photo
# large/mde-Nikon_D3100.jpg, 4608x3072). JPGTOOL: the binary (default: target/release/jpgtool,
# else target/debug/jpgtool). SHRINK_OPTS: the shrink options (default "--factor 1.5 --filter
# lanczos3"; "--scale 1/8" keeps a gigapixel input to seconds). Prints one line per kill and a
# summary; exit 1 on any failure.
set -euo pipefail

KILLS=60
OUT=""
while getopts "n:o:" opt; do
    case $opt in
        n) KILLS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) echo "usage: $0 [-n KILLS] [-o OUTDIR] [HUGE.jpg [MARK.jpg]]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

HERE=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-$HERE/../shared/corpus}
JPGTOOL=${JPGTOOL:-}
if [ -z "$JPGTOOL" ]; then
    for candidate in "$HERE/target/release/jpgtool" "$HERE/target/debug/jpgtool"; do
        if [ -x "$candidate" ]; then JPGTOOL=$candidate; break; fi
    done
fi
[ -x "${JPGTOOL:-}" ] || { echo "no jpgtool binary: cargo build --release, or set JPGTOOL" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
HUGE=${1:-}
if [ -z "$HUGE" ]; then
    SIZES=24000x4000 PROGRESSIVE=0 sh "$CORPUS/make-huge.sh" "$WORK/huge" >/dev/null 2>&1
    HUGE=$WORK/huge/huge-24000x4000-baseline.jpg
fi
MARK_IN=${2:-$CORPUS/large/mde-Nikon_D3100.jpg}
[ -n "$OUT" ] || OUT=$WORK/out
mkdir -p "$OUT"

# The outputs that every run replaces: complete JPEGs made by a first, unkilled run.
read -r -a SHRINK_OPTS <<<"${SHRINK_OPTS:---factor 1.5 --filter lanczos3}"
"$JPGTOOL" shrink --quiet "${SHRINK_OPTS[@]}" "$HUGE" -o "$OUT/shrunk.jpg"
"$JPGTOOL" mark --key kill-runs --text kill-runs "$MARK_IN" -o "$OUT/marked.jpg" >/dev/null
# A stranger's file in the folder, which must never be touched either.
echo "not ours" > "$OUT/.jpgtool-other.txt"
BEFORE=$(ls -A "$OUT" | sort)
declare -A HASH
for f in shrunk.jpg marked.jpg .jpgtool-other.txt; do
    HASH[$f]=$(sha256sum < "$OUT/$f")
done

# How long an unkilled run takes, to spread the kills over it (and a little past its end).
time_run() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
}
SHRINK=("$JPGTOOL" shrink --quiet "${SHRINK_OPTS[@]}" "$HUGE" -o "$OUT/shrunk.jpg")
MARK=("$JPGTOOL" mark --key kill-runs --text kill-runs "$MARK_IN" -o "$OUT/marked.jpg")
SHRINK_MS=$(time_run "${SHRINK[@]}")
MARK_MS=$(time_run "${MARK[@]}")
HASH[shrunk.jpg]=$(sha256sum < "$OUT/shrunk.jpg")
HASH[marked.jpg]=$(sha256sum < "$OUT/marked.jpg")
echo "jpgtool: $JPGTOOL"
echo "shrink ${SHRINK_OPTS[*]}: $HUGE, ${SHRINK_MS} ms unkilled; mark: $MARK_IN, ${MARK_MS} ms unkilled"

failures=0
declare -A COUNT
start=$(date +%s)
for ((i = 1; i <= KILLS; i++)); do
    if (( i % 2 )); then cmd=shrink; ms=$SHRINK_MS; else cmd=mark; ms=$MARK_MS; fi
    if (( (i / 2) % 2 )); then sig=KILL; else sig=TERM; fi
    # A random moment in [0, 1.1 x the unkilled time): some kills land after the end.
    delay_ms=$(( RANDOM * 32768 + RANDOM ))
    delay_ms=$(( delay_ms % (ms * 11 / 10 + 1) ))
    if [ $cmd = shrink ]; then
        "${SHRINK[@]}" >/dev/null 2>&1 &
    else
        "${MARK[@]}" >/dev/null 2>&1 &
    fi
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -s $sig $pid 2>/dev/null || true
    set +e
    wait $pid
    rc=$?
    set -e
    [ $cmd = shrink ] && out=shrunk.jpg || out=marked.jpg
    problem=""
    case "$sig:$rc" in
        TERM:143 | KILL:137) outcome=killed ;;
        *:0) outcome=finished ;;
        *) outcome="exit $rc"; problem="unexpected exit status $rc" ;;
    esac
    AFTER=$(ls -A "$OUT" | sort)
    if [ "$AFTER" != "$BEFORE" ]; then
        problem="$problem; folder changed: $(comm -13 <(echo "$BEFORE") <(echo "$AFTER") | tr '\n' ' ')"
    fi
    if [ "$outcome" = finished ]; then
        # A run that finished replaced the output with a new complete one (same bytes: the
        # same input and options give the same output).
        [ "$(sha256sum < "$OUT/$out")" = "${HASH[$out]}" ] || problem="$problem; finished output differs"
    else
        [ "$(sha256sum < "$OUT/$out")" = "${HASH[$out]}" ] || problem="$problem; existing output changed"
    fi
    [ "$(sha256sum < "$OUT/.jpgtool-other.txt")" = "${HASH[.jpgtool-other.txt]}" ] ||
        problem="$problem; a stranger's file changed"
    COUNT[$cmd-$sig-$outcome]=$(( ${COUNT[$cmd-$sig-$outcome]:-0} + 1 ))
    if [ -n "$problem" ]; then
        failures=$((failures + 1))
        echo "kill $i: $cmd SIG$sig at ${delay_ms} ms: $outcome: FAIL${problem}"
        # Put the folder back for the next round.
        for f in $(comm -13 <(echo "$BEFORE") <(echo "$AFTER")); do rm -f "$OUT/$f"; done
    else
        echo "kill $i: $cmd SIG$sig at ${delay_ms} ms: $outcome: ok"
    fi
done
elapsed=$(( $(date +%s) - start ))
echo
echo "summary: $KILLS runs in ${elapsed} s, $failures failed checks"
for key in $(printf '%s\n' "${!COUNT[@]}" | sort); do
    echo "  $key: ${COUNT[$key]}"
done
[ $failures -eq 0 ]

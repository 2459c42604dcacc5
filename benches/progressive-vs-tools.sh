#!/usr/bin/env bash
# Peak memory and CPU of `jpgtool shrink` on a large progressive JPEG at 1/2 and 1/4 (the band
# decoder), beside `djpeg -scale 1/N | cjpeg` and `vips jpegload --shrink N`; and at 1/2 under
# --max-memory 64M, where jpgtool decodes in several bands (passes are read from --json).
# Prints a Markdown table of medians (CPU = user + sys, wall) and the largest peak RSS.
#
#   benches/progressive-vs-tools.sh INPUT [RUNS]        (default RUNS: 3)
#
# INPUT is a progressive JPEG, e.g. the 24000x16000 one from the corpus' make-huge.sh:
#   SIZES=24000x16000 sh make-huge.sh OUTDIR   ->   OUTDIR/huge-24000x16000-progressive.jpg
# Commands of one case run interleaved (A1 B1 C1 A2 ...) so that load changes hit all alike.
# Environment: JPGTOOL (default target/release/jpgtool), GNU_TIME (/usr/bin/time), TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."

INPUT=${1:?usage: $0 INPUT [RUNS]}
RUNS=${2:-3}
JPGTOOL=${JPGTOOL:-target/release/jpgtool}
GNU_TIME=${GNU_TIME:-/usr/bin/time}
Q=85
[ -f "$INPUT" ] || { echo "$0: no input $INPUT" >&2; exit 1; }
[ -x "$JPGTOOL" ] || cargo build --release --quiet

tmp=$(mktemp -d "${TMPDIR:-/tmp}/progressive-vs-tools.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
    if (NR % 2) printf "%.2f", a[(NR + 1) / 2]; else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maximum() { printf '%s\n' "$@" | sort -g | tail -1; }

# run NAME COMMAND: one timed run; appends "cpu wall rss_kib" to $tmp/NAME.
run() {
    local name=$1; shift
    "$GNU_TIME" -f '%U %S %e %M' -o "$tmp/t" bash -c "$1" >/dev/null 2>"$tmp/err" ||
        { echo "$0: $name failed: $(cat "$tmp/err")" >&2; echo "n/a n/a n/a n/a" >"$tmp/t"; }
    awk '{ if ($1 == "n/a") print "n/a n/a n/a"; else printf "%.3f %s %s\n", $1 + $2, $3, $4 }' \
        "$tmp/t" >>"$(store "$name")"
}

# The file holding a case's runs (names contain slashes).
store() { echo "$tmp/case-$(echo "$1" | tr '/ ' '__')"; }

# report NAME REFERENCE: one table row, with CPU as a ratio to REFERENCE's median.
report() {
    local name=$1 ref=$2
    local cpu wall rss refcpu
    cpu=$(median $(cut -d' ' -f1 "$(store "$name")"))
    wall=$(median $(cut -d' ' -f2 "$(store "$name")"))
    rss=$(maximum $(cut -d' ' -f3 "$(store "$name")"))
    refcpu=$(median $(cut -d' ' -f1 "$(store "$ref")"))
    printf '| %s | %s s | %s s | %.0f MiB | %.2f |\n' "$name" "$cpu" "$wall" \
        "$(echo "$rss / 1024" | bc -l)" "$(echo "$cpu / $refcpu" | bc -l)"
}

echo "input: $INPUT ($(stat -c %s "$INPUT") bytes), $RUNS runs, quality $Q; $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | CPU (median) | wall (median) | peak RSS (max) | CPU / djpeg\\|cjpeg |"
echo "| --- | --- | --- | --- | --- |"
for n in 2 4; do
    have_vips=$(command -v vips >/dev/null && echo 1 || echo 0)
    for _ in $(seq "$RUNS"); do
        run "jpgtool-1/$n" "$JPGTOOL shrink --quiet --scale 1/$n --quality $Q '$INPUT' -o $tmp/a.jpg"
        run "djpeg-cjpeg-1/$n" "djpeg -scale 1/$n '$INPUT' | cjpeg -quality $Q > $tmp/b.jpg"
        if [ "$have_vips" = 1 ]; then
            run "vips-1/$n" "vips jpegload '$INPUT' $tmp/c.jpg[Q=$Q] --shrink $n"
        fi
        if [ "$n" = 2 ]; then
            run "jpgtool-1/2-64M" "$JPGTOOL shrink --quiet --scale 1/2 --quality $Q --max-memory 64M '$INPUT' -o $tmp/d.jpg"
        fi
    done
    report "jpgtool-1/$n" "djpeg-cjpeg-1/$n"
    [ "$n" = 2 ] && report "jpgtool-1/2-64M" "djpeg-cjpeg-1/$n"
    report "djpeg-cjpeg-1/$n" "djpeg-cjpeg-1/$n"
    [ "$have_vips" = 1 ] && report "vips-1/$n" "djpeg-cjpeg-1/$n"
done
echo
# Passes over the file, as reported by --json.
for args in "--scale 1/2" "--scale 1/2 --max-memory 64M" "--scale 1/4"; do
    passes=$("$JPGTOOL" shrink --json $args "$INPUT" -o "$tmp/e.jpg" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["passes"])')
    echo "passes at $args: $passes"
done

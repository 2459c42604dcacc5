#!/usr/bin/env bash
# `mark` and blind `verify` (of the marked output, and of the unmarked photo, where every level
# of the search runs) at camera sizes, through the real CLI: CPU time (user + sys, as
# /usr/bin/time reports it) and peak RSS, median of RUNS runs, one file at a time with one
# worker thread (RAYON_NUM_THREADS=1, `-j 1`), so that the figures are one core's cost whatever
# the machine's load. Photos: the 12 and 22 MP photos of the shared corpus's large/ folder, a
# 2 MP one (1920x1080) from its real/ folder, and a 24 MP one made from the 22 MP photo by
# ImageMagick (Lanczos upscale to 6000x4000, q92), as no 24 MP photo is in the corpus. Both
# commands run with --max-memory 2G: the default 1G budget refuses 24 MP before decoding (the
# budget counts 47 bytes per pixel of working memory).
#
#   benches/wm-camera.sh SHARED_CORPUS_DIR OUT_DIR [RUNS]
#
# e.g. benches/wm-camera.sh ../shared/corpus OUT 3
# Env: JPGTOOL (default target/release/jpgtool, built first), CONVERT (default convert).
# Set JPGTOOL_B to a second binary to measure both side by side (runs interleaved), as a
# before/after comparison on a loaded machine needs.
set -uo pipefail
corpus=${1:?shared corpus folder (with real/ and large/)}
out=${2:?output folder}
runs=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${JPGTOOL:-} ]]; then
    (cd "$root" && cargo build --release --quiet) || exit 2
    JPGTOOL=$root/target/release/jpgtool
fi
convert=${CONVERT:-convert}
mkdir -p "$out" || exit 2
photos=("$corpus/real/sharp-flowers.jpg" "$corpus/large/image-rs-examples-scaledown-test.jpg"
        "$corpus/large/mde-Issue_266.jpg" "$out/upscaled-24mp.jpg")
if [[ ! -s $out/upscaled-24mp.jpg ]]; then
    "$convert" "$corpus/large/mde-Issue_266.jpg" -filter Lanczos -resize 6000x4000! -quality 92 \
        "$out/upscaled-24mp.jpg" || exit 2
fi
printf 'wm-camera-bench-key-0123456789\n' > "$out/key"
payload=$(printf '5a%.0s' {1..32})
binaries=("A=$JPGTOOL")
[[ -n ${JPGTOOL_B:-} ]] && binaries+=("B=$JPGTOOL_B")
export RAYON_NUM_THREADS=1
# One measurement: prints "cpu_seconds peak_rss_mb".
measure() {
    local log=$out/time.log
    /usr/bin/time -f '%U %S %M' -o "$log" "$@" > /dev/null 2>&1
    # GNU time puts "Command exited with non-zero status N" first when the command fails
    # (`verify` of an unmarked photo exits 1): the figures are the line of numbers.
    awk '/^[0-9]/ {printf "%.2f %.0f\n", $1 + $2, $3 / 1024}' "$log"
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf '| photo | pixels | binary | mark CPU s | mark peak RSS MB | blind verify CPU s | verify peak RSS MB | blind verify of the unmarked photo CPU s |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for photo in "${photos[@]}"; do
    size=$(identify -format '%wx%h' "$photo" 2>/dev/null)
    mp=$(awk -v s="$size" 'BEGIN {split(s, d, "x"); printf "%.1f", d[1] * d[2] / 1e6}')
    declare -A mark_cpu=() mark_rss=() verify_cpu=() verify_rss=() unmarked_cpu=()
    for ((run = 0; run < runs; run++)); do
        for entry in "${binaries[@]}"; do
            name=${entry%%=*} bin=${entry#*=}
            marked=$out/$name-${photo##*/}
            read -r cpu rss < <(measure "$bin" mark --quiet -j 1 --max-memory 2G --key-file "$out/key" \
                --payload "$payload" -o "$marked" "$photo")
            mark_cpu[$name]+="$cpu "; mark_rss[$name]+="$rss "
            read -r cpu rss < <(measure "$bin" verify --max-memory 2G --key-file "$out/key" "$marked")
            verify_cpu[$name]+="$cpu "; verify_rss[$name]+="$rss "
            # An unmarked photo is the costly case: every level searched, nothing found.
            read -r cpu rss < <(measure "$bin" verify --max-memory 2G --key-file "$out/key" "$photo")
            unmarked_cpu[$name]+="$cpu "
        done
    done
    for entry in "${binaries[@]}"; do
        name=${entry%%=*}
        printf '| %s | %s (%s MP) | %s | %s | %s | %s | %s | %s |\n' "${photo##*/}" "$size" "$mp" "$name" \
            "$(tr ' ' '\n' <<< "${mark_cpu[$name]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${mark_rss[$name]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${verify_cpu[$name]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${verify_rss[$name]}" | grep . | median)" \
            "$(tr ' ' '\n' <<< "${unmarked_cpu[$name]}" | grep . | median)"
    done
    unset mark_cpu mark_rss verify_cpu verify_rss unmarked_cpu
done

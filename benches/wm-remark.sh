#!/usr/bin/env bash
# Re-marking: marks every photo of COVERS with payload A under a fresh random key, then marks
# the outputs again with payload B under the same key, as they are, re-encoded at Q85, and
# scaled by 0.8 and re-encoded at Q85 (ImageMagick); then once more under another key. Prints,
# per set, how many photos `mark` refused as already marked (and their lowest pilot score) and
# what blind `verify` says of the set.
#
#   benches/wm-remark.sh COVERS_DIR OUT_DIR [mark options, e.g. -j 2]
#
# e.g. benches/wm-remark.sh corpus/real /tmp/wm-remark -j 1
# Env: JPGTOOL (default target/release/jpgtool), CONVERT (default convert).
set -uo pipefail
covers=${1:?covers folder}
out=${2:?output folder}
shift 2
options=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${JPGTOOL:-} ]]; then
    (cd "$root" && cargo build --release --quiet) || exit 2
    JPGTOOL=$root/target/release/jpgtool
fi
convert=${CONVERT:-convert}
rm -rf "$out" && mkdir -p "$out/q85" "$out/s08" || exit 2
head -c 32 /dev/urandom > "$out/k1.key"
head -c 32 /dev/urandom > "$out/k2.key"
a=$(printf 'a%.0s' {1..64})
b=$(printf 'b%.0s' {1..64})
"$JPGTOOL" mark "$covers" -o "$out/A" --key-file "$out/k1.key" --payload "$a" --json "${options[@]}" \
    > "$out/A.jsonl" 2> "$out/A.err"
echo "marked with A: $(grep -c '"ok":true' "$out/A.jsonl") of $(grep -c '"input"' "$out/A.jsonl")" \
    "($(grep -c '"payload_layer":true' "$out/A.jsonl") with the payload layer reading back)"
for f in "$out"/A/*.jpg; do
    "$convert" "$f" -quality 85 "$out/q85/${f##*/}"
    "$convert" "$f" -resize 80% -quality 85 "$out/s08/${f##*/}"
done
summary() { # set key-file: what mark with B did, then what blind verify says of the set
    local set=$1 key=$2 tag=$3
    "$JPGTOOL" mark "$out/$set" -o "$out/B-$tag" --key-file "$key" --payload "$b" --json "${options[@]}" \
        > "$out/B-$tag.jsonl" 2> "$out/B-$tag.err"
    "$JPGTOOL" verify "$out/$set"/*.jpg --key-file "$key" --json > "$out/V-$tag.jsonl" 2>/dev/null
    echo "$tag: $(ls "$out/$set" | wc -l) files; refused as already marked:" \
        "$(grep -c 'already marked' "$out/B-$tag.err") (lowest pilot score" \
        "$(grep -o 'already marked under this key (pilot score [0-9.]*' "$out/B-$tag.err" |
            awk '{print $NF}' | sort -n | head -1)); marked again: $(grep -c '"ok":true' "$out/B-$tag.jsonl");" \
        "other failures: $(grep -vc 'already marked' "$out/B-$tag.err");" \
        "blind verify: $(grep -c '"verdict":"found"' "$out/V-$tag.jsonl") found," \
        "$(grep -c '"verdict":"unreadable"' "$out/V-$tag.jsonl") unreadable," \
        "$(grep -c '"verdict":"not_found"' "$out/V-$tag.jsonl") not found"
    grep -v '"verdict":"found"' "$out/V-$tag.jsonl" |
        sed -n 's/.*"input":"\([^"]*\)".*"pilot_score":\([0-9.]*\).*"verdict":"\([a-z_]*\)".*/    \1: \3, pilot score \2/p'
}
summary A "$out/k1.key" same-key
summary q85 "$out/k1.key" q85
summary s08 "$out/k1.key" scale0.8-q85
summary A "$out/k2.key" another-key

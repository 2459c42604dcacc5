#!/usr/bin/env bash
# Several payloads under one key (issue 19's collusion): marks every photo of COVERS with
# payload A and, separately, with B under one fresh random key, then averages the two marked
# copies (Q90), an image that carries both, and marks the A copy again with B (`mark --force`),
# which takes A's mark out first ("replaced"; "twice" where it could not, and the file carries
# both). Each goes through ImageMagick attacks, and every file through blind `verify` and
# `verify --payload` with A and with B. A file carrying two payloads must never read as one of
# them: the target is no `found`, no `match`, no exit 0; a replaced copy must read B or
# nothing, never A.
#
#   benches/wm-collusion.sh COVERS_DIR OUT_DIR
#
# Writes OUT_DIR/verdicts.tsv (cover, kind, attack, blind verdict, pilot score, verdict for A,
# for B) and prints a count of verdicts per column. Covers of at least 1080 pixels on the long
# side make every attack a downscale.
# Env: JPGTOOL (default target/release/jpgtool, built first), CONVERT (default convert),
#      PYTHON (a python3 with numpy and Pillow, for the average), SHORT_PAYLOAD (1: A and B
#      are short payloads, 16 bytes and 16 zero bytes).
set -uo pipefail
covers=${1:?covers folder}
out=${2:?output folder}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${JPGTOOL:-} ]]; then
    (cd "$root" && cargo build --release --quiet) || exit 2
    JPGTOOL=$root/target/release/jpgtool
fi
convert=${CONVERT:-convert}
python=${PYTHON:-python3}
rm -rf "$out" && mkdir -p "$out/work" || exit 2
head -c 32 /dev/urandom > "$out/key"
a=$(printf 'a5%.0s' {1..32})
b=$(printf '3c%.0s' {1..32})
if [[ ${SHORT_PAYLOAD:-0} == 1 ]]; then
    # Short payloads: 16 bytes, then 16 zero bytes.
    a=${a:0:32}$(printf '0%.0s' {1..32})
    b=${b:0:32}$(printf '0%.0s' {1..32})
fi
attacks=(
    "none:"
    "q50:-quality 50"
    "q30:-quality 30"
    "r1080q72:-resize 1080x1080> -quality 72"
    "r720q60:-resize 720x720> -quality 60"
    "scale0.5q85:-resize 50% -quality 85"
    "blur0.8q85:-gaussian-blur 0x0.8 -quality 85"
    "rot3q90:-rotate 3 -gravity center -crop 90%x90%+0+0 +repage -quality 90"
)
printf 'cover\tkind\tattack\tblind\tpilot\tclaim_a\tclaim_b\n' > "$out/verdicts.tsv"
verdict() { # file [payload]: the JSON verdict (and pilot score blind)
    if [[ $# -eq 1 ]]; then
        "$JPGTOOL" verify "$1" --key-file "$out/key" --json 2>/dev/null |
            sed -n 's/.*"pilot_score":\([-0-9.]*\).*"verdict":"\([a-z_]*\)".*/\2\t\1/p'
    else
        "$JPGTOOL" verify "$1" --key-file "$out/key" --payload "$2" --json 2>/dev/null |
            sed -n 's/.*"verdict":"\([a-z_]*\)".*/\1/p'
    fi
}
for cover in "$covers"/*.jpg "$covers"/*.jpeg; do
    [[ -f $cover ]] || continue
    name=$(basename "${cover%.*}")
    w=$out/work/$name
    mkdir -p "$w"
    "$JPGTOOL" mark "$cover" -o "$w/a.jpg" --key-file "$out/key" --payload "$a" 2> "$w/err" >/dev/null &&
        "$JPGTOOL" mark "$cover" -o "$w/b.jpg" --key-file "$out/key" --payload "$b" 2>> "$w/err" >/dev/null ||
        { echo "$name: not marked ($(head -1 "$w/err"))"; continue; }
    "$python" - "$w/a.jpg" "$w/b.jpg" "$w/averaged.jpg" <<'EOF' || continue
import sys
import numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=np.uint16) for p in sys.argv[1:3])
Image.fromarray(((a + b + 1) // 2).astype(np.uint8)).save(sys.argv[3], quality=90)
EOF
    # `mark --force` takes A's mark out where A reads back ("replaced": the file then carries B
    # alone); where it cannot ("twice": both payloads), it refuses unless layer 1 alone
    # confirms B beside A's mark.
    kinds=(averaged)
    if "$JPGTOOL" mark "$w/a.jpg" -o "$w/twice.jpg" --key-file "$out/key" --payload "$b" --force \
        --json 2>> "$w/err" > "$w/twice.json"; then
        if grep -q '"replaced_payload":"' "$w/twice.json"; then
            mv "$w/twice.jpg" "$w/replaced.jpg"
            kinds+=(replaced)
        else
            kinds+=(twice)
        fi
    else
        echo "$name: mark --force refused to mark it twice: $(tail -1 "$w/err")"
    fi
    for kind in "${kinds[@]}"; do
        for attack in "${attacks[@]}"; do
            label=${attack%%:*}
            read -r -a options <<< "${attack#*:}"
            file=$w/$kind-$label.jpg
            if [[ $label == none ]]; then
                cp "$w/$kind.jpg" "$file"
            else
                "$convert" "$w/$kind.jpg" "${options[@]}" "$file"
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$label" "$(verdict "$file")" \
                "$(verdict "$file" "$a")" "$(verdict "$file" "$b")" >> "$out/verdicts.tsv"
        done
    done
done
echo "files: $(($(wc -l < "$out/verdicts.tsv") - 1))"
for column in 4 6 7; do
    printf '%s: ' "$(head -1 "$out/verdicts.tsv" | cut -f"$column")"
    tail -n +2 "$out/verdicts.tsv" | cut -f"$column" | sort | uniq -c | sort -rn |
        awk '{printf "%s %s; ", $1, $2}'
    echo
done
echo "two payloads (averaged, twice) presented as one (found or match): $(tail -n +2 "$out/verdicts.tsv" |
    awk -F'\t' '$2 != "replaced" && ($4 == "found" || $6 == "match" || $7 == "match")' | wc -l)"
echo "replaced: B found blind $(tail -n +2 "$out/verdicts.tsv" |
    awk -F'\t' '$2 == "replaced" && $4 == "found"' | wc -l) of $(tail -n +2 "$out/verdicts.tsv" |
    awk -F'\t' '$2 == "replaced"' | wc -l), B matched $(tail -n +2 "$out/verdicts.tsv" |
    awk -F'\t' '$2 == "replaced" && $7 == "match"' | wc -l); A presented (must be 0): $(tail -n +2 "$out/verdicts.tsv" |
    awk -F'\t' '$2 == "replaced" && $6 == "match"' | wc -l)"

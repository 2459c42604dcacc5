#!/usr/bin/env bash
# Runs ../shared/tools/wm-attack/attack.py against the release jpgtool (mark + verify) and
# writes its markdown report and JSON.
#
#   benches/wm-attack.sh COVERS_DIR OUT_PREFIX [attack.py run options...]
#
# e.g. benches/wm-attack.sh COVERS OUT/jpgtool --jobs 2
#      benches/wm-attack.sh COVERS OUT/quick --attacks none 'rot5*' 'scale*'
# Env: PYTHON (a python with numpy, Pillow, opencv-python-headless; default python3),
#      JPGTOOL (default target/release/jpgtool), SUITE (default ../shared/tools/wm-attack),
#      VERIFY_LAYER (either, histogram or pattern: which layer may confirm in the verify column;
#      default either).
# Writes OUT_PREFIX.md (report) and OUT_PREFIX.json (per-image results).
set -euo pipefail
covers=${1:?covers folder}
out=${2:?output prefix}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
suite=${SUITE:-$root/../shared/tools/wm-attack}
python=${PYTHON:-python3}
if [[ -z ${JPGTOOL:-} ]]; then
    (cd "$root" && cargo build --release --quiet)
    JPGTOOL=$root/target/release/jpgtool
fi
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/tmp}/wm-attack.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$python" "$suite/attack.py" run --label jpgtool --covers "$covers" --work "$work" \
    --json "$out.json" \
    --embed "$JPGTOOL mark {in} -o {out} --key {key} --payload {payload}" \
    --extract "$JPGTOOL verify {in} --key {key}" \
    --verify "$JPGTOOL verify {in} --key {key} --payload {payload} --layer ${VERIFY_LAYER:-either}" \
    "$@" > "$out.md"
echo "wrote $out.md and $out.json"

#!/usr/bin/env bash
# Files per second of `jpgtool quality` against ImageMagick (`identify -format %Q`) and ExifTool
# (`-JPEGQualityEstimate`) over the same files: the default report (bpp pass and the primary-quality
# analysis of the first luma blocks), without the analysis, headers only, and headers plus the
# analysis (what `--max-quality --history` reads), each command run several times side by side in one
# hyperfine session; prints medians and ratios.
#
#   benches/quality-vs-tools.sh [FILES_OR_DIRS...]      (default: ../shared/corpus/real and large)
#
# Needs: hyperfine, imagemagick, libimage-exiftool-perl (apt-get install ...), a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/jpgtool
inputs=("$@")
[ ${#inputs[@]} -gt 0 ] || inputs=(../shared/corpus/real ../shared/corpus/large)
list=$(mktemp)
trap 'rm -f "$list" "$list.json"' EXIT
find "${inputs[@]}" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) | sort >"$list"
n=$(wc -l <"$list")
echo "files: $n ($(du -ch $(cat "$list") | tail -1 | cut -f1))"
runs=${RUNS:-7}
files=$(tr '\n' ' ' <"$list")
extra=()
if command -v exiftool >/dev/null; then
  extra=(-n exiftool "exiftool -q -fast2 -JPEGQualityEstimate $files")
else
  echo "exiftool not installed: left out"
fi
# -N: no shell in between, so process start-up is all that is added to each tool's own work.
hyperfine -N --style basic --warmup 1 --runs "$runs" --ignore-failure --export-json "$list.json" \
  -n jpgtool "$bin quality -j 1 $files" \
  -n jpgtool-no-history "$bin quality -j 1 --no-history $files" \
  -n jpgtool-no-bpp "$bin quality -j 1 --no-bpp $files" \
  -n jpgtool-no-bpp-history "$bin quality -j 1 --no-bpp --history $files" \
  -n jpgtool-all-cores "$bin quality $files" \
  -n identify "identify -format %Q\\n $files" \
  "${extra[@]}" >/dev/null
python3 - "$list.json" "$n" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
ident = res["identify"]["median"]
print(f"{'command':<18} {'median s':>9} {'files/s':>10} {'x identify':>11}")
for name, r in res.items():
    med = r["median"]
    print(f"{name:<18} {med:9.4f} {n / med:10.1f} {ident / med:11.1f}")
PY

#!/usr/bin/env bash
# User CPU of `jpgtool quality` against `identify -format %Q` over the same files, each command
# run RUNS times in turn in one session (so that load changes hit all of them alike); prints
# the median user+system CPU seconds of each and its ratio to identify's.
#
#   benches/quality-cpu.sh [FILES_OR_DIRS...]    (default: ../shared/corpus/real and large)
#
# JPGTOOL names the binary (default target/release/jpgtool); EXTRA_JPGTOOL, a second binary
# timed alongside (a previous build, for a before/after figure).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${JPGTOOL:-target/release/jpgtool}
inputs=("$@")
[ ${#inputs[@]} -gt 0 ] || inputs=(../shared/corpus/real ../shared/corpus/large)
mapfile -t files < <(find "${inputs[@]}" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) | sort)
echo "files: ${#files[@]}"
runs=${RUNS:-7}
declare -A cmds=(
  [identify]="identify -format %Q\n"
  [jpgtool]="$bin quality -j 1"
  [jpgtool-no-bpp-history]="$bin quality -j 1 --no-bpp --history"
  [jpgtool-no-history]="$bin quality -j 1 --no-history"
  [jpgtool-no-bpp]="$bin quality -j 1 --no-bpp"
)
[ -z "${EXTRA_JPGTOOL:-}" ] || cmds[before]="$EXTRA_JPGTOOL quality -j 1"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 0; r < runs; r++)); do
  for name in "${!cmds[@]}"; do
    # shellcheck disable=SC2086
    /usr/bin/time -f "$name %U %S" -a -o "$out" ${cmds[$name]} "${files[@]}" >/dev/null 2>&1 || true
  done
done
python3 - "$out" <<'PY'
import sys, statistics
cpu = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 3 and parts[0] != "Command":
        cpu.setdefault(parts[0], []).append(float(parts[1]) + float(parts[2]))
ident = statistics.median(cpu["identify"])
print(f"{'command':<24} {'median CPU s':>12} {'runs':>5} {'identify / it':>14}")
for name, xs in sorted(cpu.items(), key=lambda kv: -statistics.median(kv[1])):
    med = statistics.median(xs)
    print(f"{name:<24} {med:12.3f} {len(xs):5d} {ident / med if med else float('inf'):14.1f}")
PY

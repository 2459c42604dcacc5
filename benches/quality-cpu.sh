#!/usr/bin/env bash
# User CPU of `jpgtool quality` against `identify -format %Q` over the same files, each command
# run RUNS times in turn in one session (so that load changes hit all of them alike); prints
# the median user+system CPU seconds of each and its ratio to identify's.
#
#   benches/quality-cpu.sh [FILES_OR_DIRS...]    (default: ../shared/corpus/real and large)
#
# JPGTOOL names the binary (default target/release/jpgtool); EXTRA_JPGTOOL, a second binary
# timed alongside (a previous build, for a before/after figure). `time` counts in 10 ms steps,
# so each jpgtool command reads the file list REPEAT times (default 10) in one process and its
# time is divided by REPEAT; identify reads it once.
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
repeat=${REPEAT:-10}
many=()
for ((i = 0; i < repeat; i++)); do many+=("${files[@]}"); done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 0; r < runs; r++)); do
  for name in "${!cmds[@]}"; do
    # shellcheck disable=SC2086
    if [ "$name" = identify ]; then
      /usr/bin/time -f "$name %U %S 1" -a -o "$out" ${cmds[$name]} "${files[@]}" >/dev/null 2>&1 || true
    else
      /usr/bin/time -f "$name %U %S $repeat" -a -o "$out" ${cmds[$name]} "${many[@]}" >/dev/null 2>&1 || true
    fi
  done
done
python3 - "$out" <<'PY'
import sys, statistics
cpu, user = {}, {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 4 and parts[0] != "Command":
        user[parts[0]] = user.get(parts[0], []) + [float(parts[1]) / float(parts[3])]
        cpu.setdefault(parts[0], []).append((float(parts[1]) + float(parts[2])) / float(parts[3]))
ident = statistics.median(user["identify"])
ident_cpu = statistics.median(cpu["identify"])
print("median CPU seconds per pass over the files; ratios: identify's median over the command's")
print(f"{'command':<24} {'user':>7} {'user+sys':>9} {'runs':>5} {'x (user)':>9} {'x (u+s)':>8}")
for name, xs in sorted(user.items(), key=lambda kv: -statistics.median(kv[1])):
    u, c = statistics.median(xs), statistics.median(cpu[name])
    print(f"{name:<24} {u:7.4f} {c:9.4f} {len(xs):5d} {ident / u if u else float('inf'):9.1f}"
          f" {ident_cpu / c if c else float('inf'):8.1f}")
PY

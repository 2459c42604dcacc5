#!/usr/bin/env bash
# Copy attack on the watermark: lifts the high-pass residual of marked photos and adds it to
# unrelated photos, then asks the release jpgtool whether the forgeries carry the mark.
#
#   benches/wm-copy-attack.sh OUT_DIR HOSTS_DIR SOURCE.jpg... [--hosts N]
#
#   OUT_DIR    created if missing; gets forgeries.tsv (one line per forgery), genuine.tsv (the
#              marked sources themselves) and report.md
#   HOSTS_DIR  folder of unrelated photos (*.jpg; those of at least 0.25 MP are used, sorted by
#              name, a host with a source's file name skipped)
#   SOURCE     photos to mark (at least 3 for the campaign of docs/watermark.md)
#   --hosts N  hosts per source (default 30)
#   --all-kinds  four forgeries per host instead of two
#   --report   only rewrite report.md from the TSV files (e.g. of an interrupted run)
#
# For every (source, host) pair the host is resized to the marked source's size and two
# forgeries are made (benches/support/transplant.py) from the residual of a Gaussian blur
# (ImageMagick `-blur 0x1.5`) and of a 3 x 3 median (a denoiser, `-statistic median 3x3`):
# blur x1 and median x2 on the 1st, 3rd, ... host, blur x2 and median x1 on the others (x1,
# x2: the residual added once or twice), so that each of the four kinds meets half of the
# hosts (--all-kinds: all four on every host). Every forgery goes through `verify` blind and
# `verify --payload` with the source's payload; the campaign's target is 0 "found", 0 "match"
# and 0 exit 0. The key is 32 random bytes written to OUT_DIR/key (no passphrase stretching);
# each source's payload is the SHA-256 of its file name.
#
# Env: JPGTOOL (default: target/release/jpgtool, built first with cargo build --release),
#      PYTHON (a python3 with numpy and Pillow), NICE (default 10). Needs ImageMagick and jq.
set -euo pipefail

usage() {
    sed -n '2,20p' "$0" >&2
    exit 2
}
[[ $# -ge 2 ]] || usage
out=$1
hosts_dir=$2
shift 2
sources=()
hosts_per_source=30
all_kinds=0
report_only=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --hosts) hosts_per_source=${2:?}; shift 2 ;;
        --all-kinds) all_kinds=1; shift ;;
        --report) report_only=1; shift ;;
        -*) usage ;;
        *) sources+=("$1"); shift ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
nice_level=${NICE:-10}
if [[ -z ${JPGTOOL:-} ]]; then
    (cd "$root" && cargo build --release --quiet)
    JPGTOOL=$root/target/release/jpgtool
fi
jpgtool() { nice -n "$nice_level" "$JPGTOOL" "$@"; }
# Marks the sources, makes the forgeries and verifies them (forgeries.tsv, genuine.tsv).
run_campaign() {
    mkdir -p "$out/work"
    key=$out/key
    [[ -s $key ]] || head -c 32 /dev/urandom > "$key"

    # Hosts: photos of at least 0.25 MP, by name.
    mapfile -t all_hosts < <(for f in "$hosts_dir"/*.jpg; do
        read -r w h < <(identify -ping -format '%w %h\n' "$f" 2>/dev/null | head -1) || continue
        [[ -n ${h:-} && $((w * h)) -ge 250000 ]] && echo "$f"
    done | sort)

    # One verify run: "verdict<TAB>exit<TAB>pilot score<TAB>histogram score<TAB>content score".
    verify_line() {
        local json rc=0
        json=$(jpgtool verify "$@" --key-file "$key" --json 2>/dev/null) || rc=$?
        printf '%s\n' "$json" | tail -1 |
            jq -r --arg rc "$rc" '[.verdict, $rc, (.pilot_score // ""), (.score // ""), (.content_score // "")] | map(tostring) | join("\t")'
    }

    printf 'source\thost\tresidual\tgain\tpsnr_db\tblind\tblind_exit\tblind_pilot\tblind_score\tblind_content\tclaimed\tclaimed_exit\tclaimed_pilot\tclaimed_score\tclaimed_content\n' > "$out/forgeries.tsv"
    printf 'source\tblind\tblind_exit\tblind_pilot\tblind_score\tblind_content\tclaimed\tclaimed_exit\tclaimed_pilot\tclaimed_score\tclaimed_content\n' > "$out/genuine.tsv"
    for src in "${sources[@]}"; do
        name=$(basename "$src")
        payload=$(printf %s "$name" | sha256sum | cut -c1-64)
        marked=$out/work/marked-$name
        rm -f "$marked"
        if ! jpgtool mark "$src" -o "$marked" --key-file "$key" --payload "$payload" --quiet --force 2> "$out/work/mark-$name.err"; then
            echo "$name: not markable, skipped ($(tail -1 "$out/work/mark-$name.err"))" >&2
            continue
        fi
        printf '%s\t%s\t%s\n' "$name" "$(verify_line "$marked")" "$(verify_line "$marked" --payload "$payload")" >> "$out/genuine.tsv"
        size=$(identify -format '%wx%h' "$marked")
        nice -n "$nice_level" convert "$marked" -blur 0x1.5 "$out/work/blur.png"
        nice -n "$nice_level" convert "$marked" -statistic median 3x3 "$out/work/median.png"
        used=0
        for host in "${all_hosts[@]}"; do
            [[ $used -lt $hosts_per_source ]] || break
            [[ $(basename "$host") != "$name" ]] || continue
            used=$((used + 1))
            nice -n "$nice_level" convert "$host" -filter Lanczos -resize "$size!" "$out/work/host.png"
            if [[ $all_kinds == 1 ]]; then
                kinds="blur:1 blur:2 median:1 median:2"
            elif [[ $((used % 2)) == 1 ]]; then
                kinds="blur:1 median:2"
            else
                kinds="blur:2 median:1"
            fi
            for kind in $kinds; do
                residual=${kind%:*} gain=${kind#*:}
                {
                    forged=$out/work/forged.jpg
                    psnr=$(nice -n "$nice_level" "$python" "$root/benches/support/transplant.py" \
                        "$marked" "$out/work/$residual.png" "$out/work/host.png" "$gain" "$forged")
                    printf '%s\t%s\t%s\tx%s\t%s\t%s\t%s\n' "$name" "$(basename "$host")" "$residual" "$gain" "$psnr" \
                        "$(verify_line "$forged")" "$(verify_line "$forged" --payload "$payload")" >> "$out/forgeries.tsv"
                }
            done
        done
        echo "$name: $used hosts" >&2
    done
}

[[ $report_only == 1 ]] || run_campaign

"$python" - "$out" > "$out/report.md" <<'PY'
import csv, statistics, sys
from collections import Counter
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/forgeries.tsv"), delimiter="\t"))
genuine = list(csv.DictReader(open(out + "/genuine.tsv"), delimiter="\t"))
def num(v):
    try:
        return float(v)
    except ValueError:
        return None
print("# Copy attack: %d forgeries from %d marked photos\n" % (len(rows), len(genuine)))
print("| | blind `verify` | `verify --payload` |\n|---|---|---|")
for label, test in (("found / match", lambda r, k: r[k] in ("found", "match")),
                    ("exit 0", lambda r, k: r[k + "_exit"] == "0")):
    print("| %s | %d | %d |" % (label, sum(test(r, "blind") for r in rows), sum(test(r, "claimed") for r in rows)))
for k in ("blind", "claimed"):
    print("\n%s verdicts: %s" % (k, ", ".join("%s %d" % kv for kv in sorted(Counter(r[k] for r in rows).items()))))
print("\n| residual | gain | forgeries | PSNR vs host dB (median) | layer 2 reads the payload | pilot median | histogram score max | content score max |\n|---|---|---|---|---|---|---|---|")
for res in ("blur", "median"):
    for gain in ("x1", "x2"):
        sel = [r for r in rows if r["residual"] == res and r["gain"] == gain]
        if not sel:
            continue
        read = sum(r["blind"] in ("unbound", "found") for r in sel)
        pilots = [num(r["blind_pilot"]) for r in sel if num(r["blind_pilot"]) is not None]
        scores = [num(r["claimed_score"]) for r in sel if num(r["claimed_score"]) is not None]
        content = [num(r.get("blind_content") or "") for r in sel]
        content = [c for c in content if c is not None]
        print("| %s | %s | %d | %.1f | %d | %.1f | %.2f | %s |" % (
            res, gain, len(sel), statistics.median(num(r["psnr_db"]) for r in sel), read,
            statistics.median(pilots) if pilots else float("nan"), max(scores) if scores else float("nan"),
            "%.2f" % max(content) if content else "-"))
print("\nGenuine marks (the marked sources): " + "; ".join(
    "%s %s/%s (exit %s/%s, histogram score %s, content score %s)" % (g["source"], g["blind"], g["claimed"], g["blind_exit"], g["claimed_exit"], g["claimed_score"], g.get("blind_content") or "-") for g in genuine))
PY
cat "$out/report.md"

#!/usr/bin/env bash
# The watermark through the upload pipelines of photo sites (issue 18): marks every cover with
# the release jpgtool, sends each mark through the pipelines below with ImageMagick, libjpeg's
# cjpeg/djpeg and libwebp's cwebp/dwebp as the attackers, then runs `verify` blind and
# `verify --payload` on every result, and prints the read-back rates per pipeline and the cost
# of each mark (SSIM-Y, file growth, CPU time, peak RSS).
#
#   benches/wm-upload.sh COVERS_DIR OUT_DIR [--jobs N] [--controls] [--only PIPELINE,...]
#
#   COVERS_DIR  folder of JPEG covers (*.jpg, *.jpeg; not recursive)
#   OUT_DIR     created if missing; gets report.md, marks.tsv, reads.tsv (and controls.tsv),
#               and one work folder per cover (the marked file, the JSON outputs, error logs;
#               attacked files are deleted once verified)
#   --jobs N    covers processed at once (default 1; each job is one process at a time)
#   --controls  also send every unmarked cover through the pipelines and extract blind with
#               the same key: nothing may be found; the pilot scores show the noise floor
#   --only P,.. run only these pipelines (names as in the report, e.g. r1080q72,webp75)
#
# Pipelines (the marked JPEG is the input of each):
#   rLqQ     resize to long side L (1600, 1080, 720) with Lanczos, only ever down, JPEG quality
#            Q (85, 72, 60), 4:2:0, metadata stripped (ImageMagick convert)
#   dq40     decode and re-encode at quality 40 twice (djpeg | cjpeg -quality 40, twice)
#   print    print-scan: Gaussian blur sigma 0.8, Gaussian noise (ImageMagick +noise Gaussian
#            with -attenuate 0.2: standard deviation 4 grey levels at mid grey), quality 80
#   webp75   WebP at quality 75 and back (cwebp -q 75, dwebp), handed to verify as a quality
#            95 4:4:4 JPEG (jpgtool reads JPEG only)
# Lab attacks, only with --only (to check that a carrier change keeps what the attack suite
# measures; meant for covers of about 2 MP, like the suite's): jpeg50 (quality 50), scale0.5
# (Lanczos, q90), rot5crop (rotate 5 degrees, bicubic, cropped back to the original size,
# q90), crop25 (keep the bottom-right 75 % x 75 %, q90), combo (rotate 5 cropped, scale 0.8,
# q75), hflip (q90). All ImageMagick, 4:2:0.
#
# The key is a fixed 32-byte file (KEY_FILE, default: written once into OUT_DIR from a fixed
# string) and each cover gets its own payload: the SHA-256 of its file name (with
# SHORT_PAYLOAD=1, its first 16 bytes followed by 16 zero bytes: a short payload, which the
# mark sends in fewer message bits).
#
# Env: JPGTOOL (default: target/release/jpgtool, built first with cargo build --release),
#      KEY_FILE, NICE (default 10), KEEP_ATTACKED (1: keep the attacked files, so that another
#      build's `verify` can be run on the very same files later), SHORT_PAYLOAD.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

die() {
    echo "wm-upload: $*" >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
covers=$1
out=$2
shift 2
jobs=1
controls=0
only=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --jobs)
            [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive integer"
            jobs=$2
            shift 2
            ;;
        --controls)
            controls=1
            shift
            ;;
        --only)
            [[ $# -ge 2 ]] || die "--only needs a comma-separated list of pipelines"
            only=$2
            shift 2
            ;;
        -h | --help) usage ;;
        *) die "unknown option: $1" ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
[[ -d $covers ]] || die "no such covers folder: $covers"
for tool in convert identify cjpeg djpeg cwebp dwebp /usr/bin/time sha256sum xargs awk; do
    command -v "$tool" > /dev/null || die "needs $tool (ImageMagick, libjpeg-turbo-progs, webp, time, coreutils)"
done
python=$(command -v python3) || die "needs python3 (to read the JSON outputs)"
if [[ -z ${JPGTOOL:-} ]]; then
    # Always build: a target/ left over from another checkout holds a binary of other code
    # (marks under another key derivation, say), and cargo is quick when it is fresh.
    (cd "$root" && nice -n "${NICE:-10}" cargo build --release --quiet) || die "cargo build failed"
    JPGTOOL=$root/target/release/jpgtool
fi
[[ -x $JPGTOOL ]] || die "JPGTOOL is not executable: $JPGTOOL"

all_pipelines="r1600q85 r1600q72 r1600q60 r1080q85 r1080q72 r1080q60 r720q85 r720q72 r720q60 dq40 print webp75"
lab_pipelines="jpeg50 scale0.5 rot5crop crop25 combo hflip"
pipelines=$all_pipelines
if [[ -n $only ]]; then
    pipelines=${only//,/ }
    for p in $pipelines; do
        [[ " $all_pipelines $lab_pipelines " == *" $p "* ]] || die "unknown pipeline: $p (known: $all_pipelines $lab_pipelines)"
    done
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
key=${KEY_FILE:-$out/key.bin}
if [[ ! -f $key ]]; then
    # 32 fixed bytes: the same key for every run, so marks and reports can be compared.
    printf 'jpgtool wm-upload bench key 0001' > "$key"
fi
mapfile -t cover_files < <(find -L "$covers" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) | sort)
[[ ${#cover_files[@]} -gt 0 ]] || die "no *.jpg or *.jpeg in $covers"

export JPGTOOL key out pipelines controls python
export NICE=${NICE:-10}

# One attack: $1 pipeline, $2 input JPEG, $3 output JPEG, $4 scratch prefix.
attack() {
    local p=$1 in=$2 dst=$3 tmp=$4
    case $p in
        r*q*)
            local side=${p#r}
            side=${side%q*}
            local q=${p#*q}
            nice -n "$NICE" convert "$in" -filter Lanczos -resize "${side}x${side}>" \
                -sampling-factor 4:2:0 -strip -quality "$q" "$dst"
            ;;
        dq40)
            nice -n "$NICE" djpeg "$in" | nice -n "$NICE" cjpeg -quality 40 > "$tmp.q40.jpg"
            nice -n "$NICE" djpeg "$tmp.q40.jpg" | nice -n "$NICE" cjpeg -quality 40 > "$dst"
            rm -f "$tmp.q40.jpg"
            ;;
        print)
            nice -n "$NICE" convert "$in" -blur 0x0.8 -attenuate 0.2 +noise Gaussian \
                -sampling-factor 4:2:0 -quality 80 "$dst"
            ;;
        webp75)
            nice -n "$NICE" cwebp -quiet -q 75 "$in" -o "$tmp.webp"
            nice -n "$NICE" dwebp -quiet "$tmp.webp" -ppm -o "$tmp.ppm"
            nice -n "$NICE" cjpeg -quality 95 -sample 1x1 "$tmp.ppm" > "$dst"
            rm -f "$tmp.webp" "$tmp.ppm"
            ;;
        jpeg50)
            nice -n "$NICE" convert "$in" -sampling-factor 4:2:0 -quality 50 "$dst"
            ;;
        scale0.5)
            nice -n "$NICE" convert "$in" -filter Lanczos -resize 50% -sampling-factor 4:2:0 \
                -quality 90 "$dst"
            ;;
        rot5crop)
            nice -n "$NICE" convert "$in" -virtual-pixel black -interpolate bicubic -distort SRT 5 \
                -sampling-factor 4:2:0 -quality 90 "$dst"
            ;;
        crop25)
            nice -n "$NICE" convert "$in" -gravity southeast -crop 75%x75%+0+0 +repage \
                -sampling-factor 4:2:0 -quality 90 "$dst"
            ;;
        combo)
            nice -n "$NICE" convert "$in" -virtual-pixel black -interpolate bicubic -distort SRT 5 \
                -filter Lanczos -resize 80% -sampling-factor 4:2:0 -quality 75 "$dst"
            ;;
        hflip)
            nice -n "$NICE" convert "$in" -flop -sampling-factor 4:2:0 -quality 90 "$dst"
            ;;
        *)
            echo "wm-upload: unknown pipeline $p" >&2
            return 2
            ;;
    esac
}
export -f attack

# A field of a JSON object on stdin ('' when absent).
json_field() {
    "$python" -c 'import json,sys
try:
    v = json.loads(sys.stdin.read() or "{}").get(sys.argv[1], "")
except ValueError:
    v = ""
print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1"
}
export -f json_field

# Everything for one cover; appends to its own TSV files (merged at the end).
one_cover() {
    local cover=$1
    local name
    name=$(basename "$cover")
    name=${name%.*}
    local dir=$out/work/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    local payload
    payload=$(printf '%s' "$name" | sha256sum | cut -c1-64)
    if [[ ${SHORT_PAYLOAD:-0} == 1 ]]; then
        payload=${payload:0:32}00000000000000000000000000000000
    fi
    local marked=$dir/marked.jpg
    local size_in size_out mp rc=0
    size_in=$(stat -L -c %s "$cover")
    mp=$(identify -format '%w %h' "${cover}[0]" 2> /dev/null | awk '{ print $1 * $2 / 1e6 }')
    nice -n "$NICE" /usr/bin/time -f '%U %S %M' -o "$dir/mark.time" \
        "$JPGTOOL" mark "$cover" -o "$marked" --key-file "$key" --payload "$payload" --json \
        > "$dir/mark.json" 2> "$dir/mark.err" || rc=$?
    local cpu rss
    read -r user sys rss_kb < <(tail -n 1 "$dir/mark.time")
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    rss=$(awk -v k="$rss_kb" 'BEGIN { printf "%.0f", k / 1024 }')
    if [[ $rc -ne 0 || ! -f $marked ]]; then
        printf '%s\t%.2f\trefused\t\t\t\t%s\t%s\t\t\n' "$name" "$mp" "$cpu" "$rss" > "$dir/marks.tsv"
        echo "wm-upload: $name: mark refused or failed (exit $rc): $(head -c 300 "$dir/mark.err")" >&2
        : > "$dir/reads.tsv"
    else
        size_out=$(stat -L -c %s "$marked")
        local ssim psnr scale pilot growth
        ssim=$(json_field ssim_luma < "$dir/mark.json")
        psnr=$(json_field psnr_luma_db < "$dir/mark.json")
        scale=$(json_field pattern_scale < "$dir/mark.json")
        pilot=$(json_field pilot_score < "$dir/mark.json")
        growth=$(awk -v a="$size_in" -v b="$size_out" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')
        printf '%s\t%.2f\tmarked\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$mp" "$ssim" "$psnr" \
            "$growth" "$cpu" "$rss" "$scale" "$pilot" > "$dir/marks.tsv"
        : > "$dir/reads.tsv"
        local p
        for p in $pipelines; do
            local attacked=$dir/$p.jpg
            if ! attack "$p" "$marked" "$attacked" "$dir/$p.tmp" 2> "$dir/$p.err"; then
                echo "wm-upload: $name: attack $p failed: $(head -c 300 "$dir/$p.err")" >&2
                printf '%s\t%s\tattack-failed\t0\t0\t0\t\t\n' "$name" "$p" >> "$dir/reads.tsv"
                continue
            fi
            local dims blind found exact wrong match vpilot
            dims=$(identify -format '%wx%h' "$attacked" 2> /dev/null || echo "?")
            blind=$(nice -n "$NICE" "$JPGTOOL" verify "$attacked" --key-file "$key" --json \
                2> "$dir/$p.verify.err" || true)
            printf '%s\n' "$blind" > "$dir/$p.blind.json"
            found=$(json_field payload <<< "$blind")
            exact=0
            wrong=0
            if [[ -n $found ]]; then
                if [[ $found == "$payload" ]]; then exact=1; else wrong=1; fi
            fi
            vpilot=$(json_field pilot_score <<< "$blind")
            match=$(nice -n "$NICE" "$JPGTOOL" verify "$attacked" --key-file "$key" \
                --payload "$payload" --json 2>> "$dir/$p.verify.err" || true)
            printf '%s\n' "$match" > "$dir/$p.payload.json"
            local layer
            layer=$(json_field layer <<< "$match")
            match=$(json_field match <<< "$match")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$p" "$dims" "$exact" "$wrong" \
                "$([[ $match == true ]] && echo 1 || echo 0)" "$vpilot" "$layer" >> "$dir/reads.tsv"
            [[ ${KEEP_ATTACKED:-0} == 1 ]] || rm -f "$attacked"
        done
    fi
    : > "$dir/controls.tsv"
    if [[ $controls == 1 ]]; then
        local p
        for p in $pipelines; do
            local attacked=$dir/control-$p.jpg
            attack "$p" "$cover" "$attacked" "$dir/control-$p.tmp" 2> /dev/null || continue
            local blind found
            blind=$(nice -n "$NICE" "$JPGTOOL" verify "$attacked" --key-file "$key" --json \
                2> /dev/null || true)
            found=$(json_field payload <<< "$blind")
            printf '%s\t%s\t%s\t%s\n' "$name" "$p" "$([[ -n $found ]] && echo 1 || echo 0)" \
                "$(json_field pilot_score <<< "$blind")" >> "$dir/controls.tsv"
            [[ ${KEEP_ATTACKED:-0} == 1 ]] || rm -f "$attacked"
        done
    fi
    echo "wm-upload: $name done" >&2
}
export -f one_cover

start=$(date +%s)
# shellcheck disable=SC2016 # $1 is expanded by the inner bash
printf '%s\0' "${cover_files[@]}" | xargs -0 -n 1 -P "$jobs" bash -c 'one_cover "$1"' _

{
    printf 'cover\tMP\tstatus\tssim_luma\tpsnr_luma_db\tgrowth_pct\tmark_cpu_s\tmark_rss_mb\tpattern_scale\tpilot_score\n'
    for c in "${cover_files[@]}"; do
        n=$(basename "$c")
        cat "$out/work/${n%.*}/marks.tsv"
    done
} > "$out/marks.tsv"
{
    printf 'cover\tpipeline\tsize\tblind_exact\tblind_wrong\tpayload_match\tpilot_score\tverify_layer\n'
    for c in "${cover_files[@]}"; do
        n=$(basename "$c")
        cat "$out/work/${n%.*}/reads.tsv"
    done
} > "$out/reads.tsv"
if [[ $controls == 1 ]]; then
    {
        printf 'cover\tpipeline\tfound\tpilot_score\n'
        for c in "${cover_files[@]}"; do
            n=$(basename "$c")
            cat "$out/work/${n%.*}/controls.tsv"
        done
    } > "$out/controls.tsv"
fi

# The report: per pipeline, then per cover, then the controls.
"$python" - "$out" "$pipelines" "$controls" "$(($(date +%s) - start))" "$JPGTOOL" > "$out/report.md" << 'EOF'
import csv, sys
out, pipelines, controls, seconds, tool = sys.argv[1], sys.argv[2].split(), sys.argv[3] == "1", sys.argv[4], sys.argv[5]
rows = lambda f: list(csv.DictReader(open(f"{out}/{f}"), delimiter="\t"))
marks, reads = rows("marks.tsv"), rows("reads.tsv")
marked = [m for m in marks if m["status"] == "marked"]
print(f"# wm-upload: {len(marks)} covers, {len(marked)} marked ({seconds} s, {tool})\n")
print("Rates over the marked covers. blind exact: `verify` without a payload prints the right")
print("payload; wrong: it prints another one; payload: `verify --payload` matches. Pilot")
print("scores of the blind extraction: median over the covers, and the best among failed reads.\n")
print("| pipeline | blind exact | wrong | verify --payload | pilot median | best pilot of a failed read |")
print("|---|---|---|---|---|---|")
def pct(k, n): return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "-"
for p in pipelines:
    r = [x for x in reads if x["pipeline"] == p]
    n = len(r)
    exact = sum(int(x["blind_exact"]) for x in r)
    wrong = sum(int(x["blind_wrong"]) for x in r)
    match = sum(int(x["payload_match"]) for x in r)
    pilots = sorted(float(x["pilot_score"]) for x in r if x["pilot_score"])
    med = f"{pilots[len(pilots) // 2]:.1f}" if pilots else "-"
    failed = [float(x["pilot_score"]) for x in r if x["pilot_score"] and x["blind_exact"] == "0"]
    worst = f"{max(failed):.2f}" if failed else "-"
    print(f"| {p} | {pct(exact, n)} | {wrong} | {pct(match, n)} | {med} | {worst} |")
total = [x for x in reads]
print(f"| all | {pct(sum(int(x['blind_exact']) for x in total), len(total))} | "
      f"{sum(int(x['blind_wrong']) for x in total)} | "
      f"{pct(sum(int(x['payload_match']) for x in total), len(total))} | | |")
print("\nPer cover: the mark's cost, and which pipelines read back blind (x) or only verify")
print("(v; v1: confirmed by layer 1, the histogram); WRONG: another payload read blind.\n")
print("| cover | MP | SSIM-Y | PSNR-Y dB | growth % | mark CPU s | peak RSS MB | scale | pilot | " + " | ".join(pipelines) + " |")
print("|---|---|---|---|---|---|---|---|---|" + "---|" * len(pipelines))
for m in marks:
    cells = []
    for p in pipelines:
        r = [x for x in reads if x["cover"] == m["cover"] and x["pipeline"] == p]
        if not r: cells.append("-")
        elif r[0]["blind_exact"] == "1": cells.append("x")
        elif r[0]["payload_match"] == "1": cells.append("v" + ("1" if r[0].get("verify_layer") == "histogram" else ""))
        elif r[0]["blind_wrong"] == "1": cells.append("WRONG")
        else: cells.append(".")
    if m["status"] != "marked":
        print(f"| {m['cover']} | {m['MP']} | refused | | | {m['mark_cpu_s']} | {m['mark_rss_mb']} | | | " + " | ".join(cells) + " |")
    else:
        print(f"| {m['cover']} | {m['MP']} | {m['ssim_luma']} | {m['psnr_luma_db']} | {m['growth_pct']} | {m['mark_cpu_s']} | {m['mark_rss_mb']} | {m['pattern_scale']} | {m['pilot_score']} | " + " | ".join(cells) + " |")
if marked:
    f = lambda k: [float(m[k]) for m in marked if m[k]]
    s, g = f("ssim_luma"), f("growth_pct")
    print(f"\nSSIM-Y mean {sum(s) / len(s):.4f}, min {min(s):.4f}; growth mean {sum(g) / len(g):.1f} %, max {max(g):.1f} %; "
          f"mark CPU max {max(f('mark_cpu_s')):.1f} s; peak RSS max {max(f('mark_rss_mb')):.0f} MB.")
if controls:
    c = rows("controls.tsv")
    found = sum(int(x["found"]) for x in c)
    pilots = [float(x["pilot_score"]) for x in c if x["pilot_score"]]
    print(f"\nControls (unmarked covers through the same pipelines, blind, same key): {len(c)} extractions, "
          f"{found} found a payload; pilot score max {max(pilots) if pilots else 0:.2f}, "
          f"median {sorted(pilots)[len(pilots) // 2] if pilots else 0:.2f}.")
EOF
cat "$out/report.md"
echo "wm-upload: wrote $out/report.md, $out/marks.tsv, $out/reads.tsv" >&2

#!/usr/bin/env bash
# CPU time, wall time and peak memory of `jpgtool shrink` against libjpeg-turbo's djpeg/cjpeg and
# libvips on very large JPEGs; prints Markdown tables of medians and ratios.
#
#   benches/shrink-vs-tools.sh [HUGE_DIR] [RUNS]        (defaults: target/huge, 5)
#
# HUGE_DIR holds the synthetic inputs, which are not in the repository. Build the main ones with
#   sh ../shared/corpus/make-huge.sh target/huge
# (24000x16000 and 40000x30000, baseline and progressive, 4:2:0, quality 90) and the extras the
# same way, from the 4608x3072 mirrored tile that script makes (`djpeg -scale 1/2` of
# large/mde-Nikon_D3100.jpg, then the `convert ... -flop/-flip` line in make-huge.sh):
#   pnmtile 24000 16000 tile.ppm | cjpeg -quality 90 -sample 1x1 -outfile huge-24000x16000-baseline444.jpg
#   pnmtile 24000 2000  tile.ppm | cjpeg -quality 90 -sample 2x2 -outfile huge-24000x2000-baseline.jpg
#   pnmtile 24000 2000  tile.ppm | cjpeg -quality 90 -sample 1x1 -outfile huge-24000x2000-baseline444.jpg
# A missing input or tool shows as "n/a"; nothing else is skipped silently.
#
# Sections (choose with SECTIONS="1 2 3 4", the default):
#   1  baseline 4:2:0 and 4:4:4 24000x16000 at 1/2, 1/4, 1/8, quality 85: jpgtool against
#      `djpeg -scale 1/N | cjpeg` (the same job with the reference library), against
#      `djpeg -scale 1/N -outfile /dev/null` (decode only: the floor for any decoder that uses
#      libjpeg's scaled IDCT) and against `vips jpegload --shrink N` (libvips' shrink-on-load).
#   2  peak RSS of jpgtool at 1/2 and 1/8 on 24000x2000 against 24000x16000 (4:2:0 and 4:4:4):
#      a streaming shrink must not need more memory for a taller image.
#   3  factors 3, 5, 10 (no 1/8-multiple) on the 4:2:0 24000x16000: jpgtool --factor F against
#      vipsthumbnail to the box round(W/F) x round(H/F).
#   4  progressive: 40000x30000 at 1/8, jpgtool against the djpeg decode-only floor (target:
#      jpgtool CPU <= 1/3 of it), with the raw size of the 1/8 image beside jpgtool's RSS; and
#      24000x16000 at 1/2, jpgtool against djpeg | cjpeg, with the size of the whole-image
#      coefficient buffer that libjpeg needs for a progressive file.
#
# Every figure is the median of RUNS runs (max for RSS) from GNU time (`%e %U %S %M`); CPU is
# user + sys. The commands of one case run interleaved (A1 B1 C1 A2 B2 C2 ...) so drift hits all
# of them alike. Every command runs under `bash -c`: a single command is exec'd in place, and for
# the `djpeg | cjpeg` pipeline GNU time reports the user + sys of both children (the shell waits
# for them, so their usage is in its rusage) and the RSS of the largest single process.
#
# Environment: JPGTOOL (default target/release/jpgtool, built with `cargo build --release` when
# missing), JPGTOOL_EXTRA (extra jpgtool flags, default --quiet), SECTIONS, RUNS (when no second
# argument), TMPDIR (outputs go to a temporary directory there, deleted at exit).
#
# Needs: GNU time (/usr/bin/time), python3 (JPEG header reading); optional: libjpeg-turbo-progs,
# libvips-tools (apt-get install ...).
set -euo pipefail
cd "$(dirname "$0")/.."

HUGE=${1:-target/huge}
RUNS=${2:-${RUNS:-5}}
SECTIONS=${SECTIONS:-"1 2 3 4"}
JPGTOOL=${JPGTOOL:-target/release/jpgtool}
JPGTOOL_EXTRA=${JPGTOOL_EXTRA---quiet}
GNU_TIME=${GNU_TIME:-/usr/bin/time}
Q=85

die() { echo "$0: $*" >&2; exit 1; }
note() { echo "$*" >&2; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
[ -x "$GNU_TIME" ] || die "GNU time not found at $GNU_TIME (apt-get install -y time)"
if [ ! -d "$HUGE" ]; then
    die "no input directory $HUGE; build it with: sh ../shared/corpus/make-huge.sh $HUGE (see the top of $0 for the extra files)"
fi
if [ "$JPGTOOL" = target/release/jpgtool ] && [ ! -x "$JPGTOOL" ]; then
    note "building $JPGTOOL ..."
    cargo build --release --quiet || note "cargo build --release failed; jpgtool shows as n/a"
fi

have() { command -v "$1" >/dev/null 2>&1; }
have_jpgtool() { [ -x "$JPGTOOL" ] || have "$JPGTOOL"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shrink-vs-tools.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# --- numbers ---------------------------------------------------------------------------------

median() { # numbers as arguments -> median
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) exit 1
        if (NR % 2) printf "%.6f\n", a[(NR + 1) / 2]; else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maximum() { printf '%s\n' "$@" | sort -g | tail -n 1; }
fmt_s() { # seconds
    if [ "$1" = n/a ]; then echo n/a; else awk -v x="$1" 'BEGIN { printf (x < 10 ? "%.3f" : "%.2f"), x }'; fi
}
kib_to_mib() {
    if [ "$1" = n/a ]; then echo n/a; else awk -v x="$1" 'BEGIN { printf "%.1f", x / 1024 }'; fi
}
bytes_to_mib() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 1048576 }'; }
ratio() { # a b -> a / b, or n/a
    if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# JPEG frame header: "W H B|P NCOMP H1 V1 H2 V2 ..." (B baseline/extended, P progressive)
jpeg_sof() {
    have python3 || return 1
    python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    if f.read(2) != b"\xff\xd8":
        sys.exit(1)
    while True:
        b = f.read(1)
        if not b:
            sys.exit(1)
        if b != b"\xff":
            continue
        m = f.read(1)
        while m == b"\xff":
            m = f.read(1)
        if not m:
            sys.exit(1)
        m = m[0]
        if m in (0x00, 0x01, 0xD8) or 0xD0 <= m <= 0xD7:
            continue
        if m == 0xD9 or m == 0xDA:
            sys.exit(1)
        (n,) = struct.unpack(">H", f.read(2))
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            d = f.read(n - 2)
            _, h, w, nc = struct.unpack(">BHHB", d[:6])
            s = " ".join(f"{d[7 + 3 * i] >> 4} {d[7 + 3 * i] & 15}" for i in range(nc))
            print(w, h, "P" if m in (0xC2, 0xC6, 0xCA, 0xCE) else "B", nc, s)
            sys.exit(0)
        f.seek(n - 2, 1)
PY
}
jpeg_dims() {
    local s w h
    if s=$(jpeg_sof "$1" 2>/dev/null); then
        read -r w h _ <<<"$s"
        echo "${w}x${h}"
    else
        echo "?"
    fi
}

# Bytes of libjpeg's whole-image coefficient arrays (what djpeg holds for a progressive file):
# per component, width_in_blocks = ceil(W * h / (Hmax * 8)) rounded up to a multiple of h, the
# same for the height, 64 coefficients of 2 bytes per block.
coef_bytes() {
    local s w h nc hmax=1 vmax=1 i total=0 bw bh hs vs
    s=$(jpeg_sof "$1") || { echo n/a; return; }
    read -r w h _ nc s <<<"$s"
    local -a f
    read -r -a f <<<"$s"
    for ((i = 0; i < nc; i++)); do
        ((f[2 * i] > hmax)) && hmax=${f[2 * i]}
        ((f[2 * i + 1] > vmax)) && vmax=${f[2 * i + 1]}
    done
    for ((i = 0; i < nc; i++)); do
        hs=${f[2 * i]} vs=${f[2 * i + 1]}
        bw=$(((w * hs + hmax * 8 - 1) / (hmax * 8)))
        bh=$(((h * vs + vmax * 8 - 1) / (vmax * 8)))
        bw=$(((bw + hs - 1) / hs * hs))
        bh=$(((bh + vs - 1) / vs * vs))
        total=$((total + bw * bh * 128))
    done
    echo "$total"
}

# --- measuring -------------------------------------------------------------------------------
# A case is a list of commands (add KEY LABEL OUTPUT COMMAND-STRING, or add_na KEY LABEL REASON)
# run interleaved by run_case; results land in the R_* arrays under KEY.

declare -A R_LABEL R_CPU R_WALL R_RSS R_OUT R_STATUS
case_keys=()
case_cmds=()
case_outs=()

add() {
    case_keys+=("$1")
    R_LABEL[$1]=$2
    case_outs+=("$3")
    case_cmds+=("$4")
    R_STATUS[$1]=ok
}
add_na() {
    R_LABEL[$1]=$2
    R_STATUS[$1]="n/a ($3)"
    R_CPU[$1]=n/a R_WALL[$1]=n/a R_RSS[$1]=n/a R_OUT[$1]=n/a
}

run_case() { # TITLE
    local title=$1 run j key tf=$tmp/time.txt ef=$tmp/stderr.txt e u s m
    local -A cpus walls rsss
    for key in "${case_keys[@]}"; do cpus[$key]="" walls[$key]="" rsss[$key]=""; done
    for ((run = 1; run <= RUNS; run++)); do
        note "  $title: run $run/$RUNS"
        for j in "${!case_keys[@]}"; do
            key=${case_keys[$j]}
            [ "${R_STATUS[$key]}" = ok ] || continue
            [ -z "${case_outs[$j]}" ] || rm -f "${case_outs[$j]}"
            if "$GNU_TIME" -f '%e %U %S %M' -o "$tf" bash -c "${case_cmds[$j]}" >/dev/null 2>"$ef"; then
                read -r e u s m < <(tail -n 1 "$tf")
                cpus[$key]+=" $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')"
                walls[$key]+=" $e"
                rsss[$key]+=" $m"
            else
                R_STATUS[$key]=FAIL
                note "  FAILED: ${case_cmds[$j]}"
                sed 's/^/    /' "$ef" | head -n 5 >&2
            fi
        done
    done
    for j in "${!case_keys[@]}"; do
        key=${case_keys[$j]}
        if [ "${R_STATUS[$key]}" = ok ]; then
            # shellcheck disable=SC2086 # word splitting of the number lists is intended
            {
                R_CPU[$key]=$(median ${cpus[$key]})
                R_WALL[$key]=$(median ${walls[$key]})
                R_RSS[$key]=$(maximum ${rsss[$key]})
            }
            local out=${case_outs[$j]}
            if [ -n "$out" ] && [ -s "$out" ]; then
                R_OUT[$key]="$(jpeg_dims "$out"), $(awk -v x="$(stat -c %s "$out")" 'BEGIN { printf "%.2f MiB", x / 1048576 }')"
            else
                R_OUT[$key]="-"
            fi
        else
            R_CPU[$key]=n/a R_WALL[$key]=n/a R_RSS[$key]=n/a R_OUT[$key]=n/a
        fi
    done
    case_keys=() case_cmds=() case_outs=()
}

q() { printf '%q ' "$@"; } # a command line as one string for bash -c

cmd_jpgtool() { # IN OUT ARGS...
    local in=$1 out=$2
    shift 2
    # shellcheck disable=SC2086 # JPGTOOL_EXTRA is a list of flags
    q "$JPGTOOL" shrink "$in" -o "$out" "$@" -q "$Q" $JPGTOOL_EXTRA
}

# Table rows: one per command, the ratios are jpgtool / this command.
table_head() {
    echo
    echo "### $1"
    echo
    echo "| case | command | CPU s (user+sys) | wall s | peak RSS MiB | output | jpgtool ÷ this, CPU | jpgtool ÷ this, wall |"
    echo "|---|---|---:|---:|---:|---|---:|---:|"
}
table_rows() { # CASE JPGTOOL-KEY KEY...
    local c=$1 jk=$2 key label st rc rw
    shift 2
    for key in "$@"; do
        label=${R_LABEL[$key]}
        st=${R_STATUS[$key]}
        if [ "$key" = "$jk" ]; then
            rc="" rw=""
        else
            rc=$(ratio "${R_CPU[$jk]}" "${R_CPU[$key]}")
            rw=$(ratio "${R_WALL[$jk]}" "${R_WALL[$key]}")
        fi
        if [ "$st" = ok ]; then
            echo "| $c | $label | $(fmt_s "${R_CPU[$key]}") | $(fmt_s "${R_WALL[$key]}") | $(kib_to_mib "${R_RSS[$key]}") | ${R_OUT[$key]} | $rc | $rw |"
        else
            echo "| $c | $label | $st | | | | | |"
        fi
    done
}

# Adds the commands of one "jpgtool against references" case. Which references: any of
# djc (djpeg | cjpeg), floor (djpeg -outfile /dev/null), vips.
add_scale_case() { # PREFIX IN N REFS...
    local p=$1 in=$2 n=$3 ref
    shift 3
    if ! have_jpgtool; then add_na "$p.jpgtool" jpgtool "no $JPGTOOL"
    else add "$p.jpgtool" jpgtool "$tmp/jpgtool.jpg" "$(cmd_jpgtool "$in" "$tmp/jpgtool.jpg" --scale "1/$n")"; fi
    for ref in "$@"; do
        case $ref in
        djc)
            if have djpeg && have cjpeg; then
                add "$p.djc" 'djpeg \| cjpeg' "$tmp/djc.jpg" \
                    "$(q djpeg -scale "1/$n" "$in") | $(q cjpeg -quality "$Q") > $(q "$tmp/djc.jpg")"
            else add_na "$p.djc" 'djpeg \| cjpeg' "no djpeg/cjpeg"; fi ;;
        floor)
            if have djpeg; then
                add "$p.floor" 'djpeg, decode only' "" "$(q djpeg -scale "1/$n" -outfile /dev/null "$in")"
            else add_na "$p.floor" 'djpeg, decode only' "no djpeg"; fi ;;
        vips)
            # sequential access: stream the file instead of decoding it whole to memory/disk first
            if have vips; then
                add "$p.vips" "vips jpegload --shrink $n" "$tmp/vips.jpg" \
                    "$(q vips jpegload "$in" "$tmp/vips.jpg[Q=$Q]" --shrink "$n" --access sequential)"
            else add_na "$p.vips" "vips jpegload --shrink $n" "no vips"; fi ;;
        esac
    done
}

warm() { [ -f "$1" ] && cat "$1" >/dev/null; } # into the page cache

input() { # NAME -> path, or empty (and a note) when missing
    if [ -f "$HUGE/$1" ]; then echo "$HUGE/$1"; else note "missing input $HUGE/$1"; echo ""; fi
}

section_on() { [[ " $SECTIONS " == *" $1 "* ]]; }

# --- report ----------------------------------------------------------------------------------

version() { # TOOL -> one line
    local v=""
    case $1 in
    jpgtool) ! have_jpgtool || v=$("$JPGTOOL" --version 2>/dev/null | head -n 1) || v="?" ;;
    djpeg) ! have djpeg || v=$(djpeg -version 2>&1 | head -n 1) ;;
    vips) ! have vips || v=$(vips --version 2>/dev/null | head -n 1) ;;
    esac
    echo "${v:-$1 n/a}"
}

echo "## jpgtool shrink against djpeg/cjpeg and libvips"
echo
echo "- inputs: $HUGE; $RUNS runs per command, interleaved; medians (RSS: max); quality $Q"
echo "- jpgtool: $JPGTOOL ($(version jpgtool)); $(version djpeg); $(version vips)"
echo "- machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"

section1() {
    table_head "1. Baseline 24000x16000, scale 1/N"
    for kind in baseline baseline444; do
        in=$(input "huge-24000x16000-$kind.jpg")
        sub=$([ "$kind" = baseline ] && echo 4:2:0 || echo 4:4:4)
        for n in 2 4 8; do
            c="$sub 1/$n"
            if [ -z "$in" ]; then
                add_na "s1.$kind.$n.jpgtool" jpgtool "missing input"
                table_rows "$c" "s1.$kind.$n.jpgtool" "s1.$kind.$n.jpgtool"
                continue
            fi
            warm "$in"
            add_scale_case "s1.$kind.$n" "$in" "$n" djc floor vips
            run_case "section 1, $c"
            table_rows "$c" "s1.$kind.$n.jpgtool" "s1.$kind.$n".{jpgtool,djc,floor,vips}
        done
    done
}

section2() {
    echo
    echo "### 2. jpgtool peak RSS against image height (24000 wide)"
    echo
    echo "| case | RSS 24000x2000 MiB | RSS 24000x16000 MiB | difference MiB | CPU s 24000x2000 | CPU s 24000x16000 |"
    echo "|---|---:|---:|---:|---:|---:|"
    for kind in baseline baseline444; do
        short=$(input "huge-24000x2000-$kind.jpg")
        tall=$(input "huge-24000x16000-$kind.jpg")
        sub=$([ "$kind" = baseline ] && echo 4:2:0 || echo 4:4:4)
        for n in 2 8; do
            c="$sub 1/$n"
            if ! have_jpgtool || [ -z "$short" ] || [ -z "$tall" ]; then
                echo "| $c | n/a | n/a | n/a | n/a | n/a |"
                continue
            fi
            warm "$short"
            warm "$tall"
            add "s2.$kind.$n.short" short "$tmp/short.jpg" "$(cmd_jpgtool "$short" "$tmp/short.jpg" --scale "1/$n")"
            add "s2.$kind.$n.tall" tall "$tmp/tall.jpg" "$(cmd_jpgtool "$tall" "$tmp/tall.jpg" --scale "1/$n")"
            run_case "section 2, $c"
            rs=${R_RSS[s2.$kind.$n.short]} rt=${R_RSS[s2.$kind.$n.tall]}
            d=n/a
            [ "$rs" != n/a ] && [ "$rt" != n/a ] && d=$(awk -v a="$rt" -v b="$rs" 'BEGIN { d = (a - b) / 1024; if (d > -0.05 && d < 0.05) d = 0; printf "%+.1f", d }')
            echo "| $c | $(kib_to_mib "$rs") | $(kib_to_mib "$rt") | $d | $(fmt_s "${R_CPU[s2.$kind.$n.short]}") | $(fmt_s "${R_CPU[s2.$kind.$n.tall]}") |"
        done
    done
}

section3() {
    table_head "3. Baseline 4:2:0 24000x16000, factors that are no multiple of 1/8"
    in=$(input huge-24000x16000-baseline.jpg)
    w=24000 h=16000
    if [ -n "$in" ] && s=$(jpeg_sof "$in"); then read -r w h _ <<<"$s"; fi
    for f in 3 5 10; do
        # output round(W/F) x round(H/F); vipsthumbnail fits the image into a WxH box unless the
        # size ends in "!" (then it scales each axis on its own), so with "!" both tools write the
        # same dimensions (a plain box can come out a pixel narrower, e.g. 7999x5333 for 8000x5333)
        bw=$(((w * 2 + f) / (2 * f))) bh=$(((h * 2 + f) / (2 * f)))
        c="factor $f (${bw}x${bh})"
        if [ -z "$in" ]; then
            add_na "s3.$f.jpgtool" jpgtool "missing input"
            table_rows "$c" "s3.$f.jpgtool" "s3.$f.jpgtool"
            continue
        fi
        warm "$in"
        if have_jpgtool; then
            add "s3.$f.jpgtool" jpgtool "$tmp/jpgtool.jpg" "$(cmd_jpgtool "$in" "$tmp/jpgtool.jpg" --factor "$f")"
        else add_na "s3.$f.jpgtool" jpgtool "no $JPGTOOL"; fi
        if have vipsthumbnail; then
            add "s3.$f.vips" "vipsthumbnail -s ${bw}x${bh}!" "$tmp/thumb.jpg" \
                "$(q vipsthumbnail "$in" -s "${bw}x${bh}!" -o "$tmp/thumb.jpg[Q=$Q]")"
        else add_na "s3.$f.vips" "vipsthumbnail" "no vipsthumbnail"; fi
        run_case "section 3, factor $f"
        table_rows "$c" "s3.$f.jpgtool" "s3.$f.jpgtool" "s3.$f.vips"
    done
}

section4() {
    table_head "4. Progressive"
    notes=()
    in=$(input huge-40000x30000-progressive.jpg)
    c="40000x30000 1/8"
    if [ -n "$in" ]; then
        warm "$in"
        add_scale_case s4.a "$in" 8 floor
        run_case "section 4, $c"
        table_rows "$c" s4.a.jpgtool s4.a.jpgtool s4.a.floor
        r=$(ratio "${R_CPU[s4.a.jpgtool]}" "${R_CPU[s4.a.floor]}")
        met=n/a
        [ "$r" != n/a ] && met=$(awk -v r="$r" 'BEGIN { print (r <= 1 / 3 ? "met" : "NOT met") }')
        notes+=("- $c: jpgtool CPU ÷ djpeg decode-only CPU = $r (target ≤ 0.33: $met)")
        if s=$(jpeg_sof "$in"); then
            read -r w h _ <<<"$s"
            raw=$((((w + 7) / 8) * ((h + 7) / 8) * 3))
            notes+=("- $c: raw 1/8 image $(((w + 7) / 8))x$(((h + 7) / 8))x3 = $(bytes_to_mib "$raw") MiB; jpgtool peak RSS $(kib_to_mib "${R_RSS[s4.a.jpgtool]}") MiB, djpeg $(kib_to_mib "${R_RSS[s4.a.floor]}") MiB; libjpeg coefficient buffer $(bytes_to_mib "$(coef_bytes "$in")") MiB")
        fi
    else
        add_na s4.a.jpgtool jpgtool "missing input"
        table_rows "$c" s4.a.jpgtool s4.a.jpgtool
    fi
    in=$(input huge-24000x16000-progressive.jpg)
    c="24000x16000 1/2"
    if [ -n "$in" ]; then
        warm "$in"
        add_scale_case s4.b "$in" 2 djc
        run_case "section 4, $c"
        table_rows "$c" s4.b.jpgtool s4.b.jpgtool s4.b.djc
        cb=$(coef_bytes "$in")
        if [ "$cb" != n/a ] && s=$(jpeg_sof "$in"); then
            read -r w h _ <<<"$s"
            per=$(awk -v b="$cb" -v p="$((w * h))" 'BEGIN { printf "%.2f", b / p }')
            notes+=("- $c: libjpeg whole-image coefficient buffer $(bytes_to_mib "$cb") MiB ($per bytes/pixel); peak RSS jpgtool $(kib_to_mib "${R_RSS[s4.b.jpgtool]}") MiB, djpeg \| cjpeg $(kib_to_mib "${R_RSS[s4.b.djc]}") MiB")
        fi
    else
        add_na s4.b.jpgtool jpgtool "missing input"
        table_rows "$c" s4.b.jpgtool s4.b.jpgtool
    fi
    [ ${#notes[@]} -eq 0 ] || { echo; printf '%s\n' "${notes[@]}"; }
}

# Each section's table goes out in one piece when it is done (progress lines go to stderr).
for n in 1 2 3 4; do
    if section_on "$n"; then
        "section$n" >"$tmp/section.md"
        cat "$tmp/section.md"
    fi
done
echo
echo "- load at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates wall times and, less, CPU times)"

#!/usr/bin/env bash
# floods.sh: peak memory of every command (quality, shrink, recompress, mark, verify) on hostile
# inputs, with the default limits:
#   com      a 640x480 photo with MB (default 200) megabytes of COM segments before SOF
#   app      the same with APP11 segments
#   com60    60 MB of COM segments: under the default --max-metadata (64 MiB), so carried over
#   com64    1021 full-length COM segments (66.9 MB): about the most the default accepts
#   tiny     60 MB of 5-byte COM segments (12 million): refused for their number
#   dht      its largest DHT segment repeated 1,000,000 times (183 MB)
#   dqt      its largest DQT segment repeated 1,000,000 times (69 MB)
#   endless  SOI, 700 random bytes (fixed seed), then /dev/zero, on stdin (as /dev/stdin)
#   endscan  the photo's real header up to its first scan, then /dev/zero, on stdin
# Prints one row per (input, command): peak RSS (GNU time's %M), exit status, wall time and the
# first line of stderr (warnings left out). Each run is stopped after TIMEOUT seconds (default
# 60): exit 124 = timed out, 137 = killed 5 s later because it ignored SIGTERM. Environment:
# MB, TIMEOUT, JPGTOOL (the binary, default target/release/jpgtool), DIR (where the files go;
# default a temporary folder, removed after), COMMANDS (default: all five), INPUTS (default: all).
set -euo pipefail

MB=${MB:-200}
TIMEOUT=${TIMEOUT:-60}
DIR=${DIR:-}

HERE=$(cd "$(dirname "$0")/.." && pwd)
JPGTOOL=${JPGTOOL:-$HERE/target/release/jpgtool}
if [ -z "$DIR" ]; then
    DIR=$(mktemp -d)
    trap 'rm -rf "$DIR"' EXIT
fi
mkdir -p "$DIR"

# A 640x480 photo with EXIF, from the corpus.
"$JPGTOOL" shrink -q 85 --width 640 "$HERE/corpus/real/exif-samples-mobile-jolla.jpg" \
    -o "$DIR/base.jpg" 2>/dev/null
python3 "$HERE/benches/support/floods.py" "$DIR/base.jpg" "$DIR" "$MB"
python3 -c 'import random,sys; random.seed(22); sys.stdout.buffer.write(bytes(random.randrange(256) for _ in range(700)))' \
    >"$DIR/rand700.bin"

KEY=(--key "flood bench" --text "issue 22")
command_line() {
    case $1 in
        quality) echo "quality $2" ;;
        shrink) echo "shrink $2 -o $DIR/out-shrink.jpg" ;;
        recompress) echo "recompress -q 50 $2 -o $DIR/out-recompress.jpg" ;;
        mark) echo "mark $2 -o $DIR/out-mark.jpg" ;;
        verify) echo "verify $2" ;;
    esac
}
feed() {
    case $1 in
        endless) printf '\xff\xd8'; cat "$DIR/rand700.bin"; cat /dev/zero ;;
        endscan) cat "$DIR/head.bin"; cat /dev/zero ;;
    esac
}

printf '%-8s %-10s %9s %5s %7s  %s\n' input command "RSS MiB" exit seconds "stderr (first line)"
for input in ${INPUTS:-com app com60 com64 tiny dht dqt endless endscan}; do
    for cmd in ${COMMANDS:-quality shrink recompress mark verify}; do
        case $input in
            endless | endscan) path=/dev/stdin ;;
            *) path=$DIR/$input.jpg ;;
        esac
        # shellcheck disable=SC2046
        set -- $(command_line "$cmd" "$path")
        extra=()
        if [ "$cmd" = mark ] || [ "$cmd" = verify ]; then extra=("${KEY[@]}"); fi
        start=$(date +%s.%N)
        set +e
        case $input in
            endless | endscan)
                feed "$input" 2>/dev/null | /usr/bin/time -f %M -o "$DIR/rss" \
                    timeout -k 5 "$TIMEOUT" "$JPGTOOL" "$@" "${extra[@]}" >/dev/null 2>"$DIR/err"
                status=${PIPESTATUS[1]} ;;
            *)
                /usr/bin/time -f %M -o "$DIR/rss" \
                    timeout -k 5 "$TIMEOUT" "$JPGTOOL" "$@" "${extra[@]}" >/dev/null 2>"$DIR/err"
                status=$? ;;
        esac
        set -e
        end=$(date +%s.%N)
        rss=$(grep -E '^[0-9]+$' "$DIR/rss" | tail -1)
        printf '%-8s %-10s %9.1f %5s %7.1f  %s\n' "$input" "$cmd" "$(echo "$rss / 1024" | bc -l)" \
            "$status" "$(echo "$end - $start" | bc -l)" "$(grep -v 'jpgtool: warning:' "$DIR/err" | head -1 | cut -c1-150)"
        rm -f "$DIR"/out-*.jpg
    done
done

#!/usr/bin/env python3
"""`jpgtool recompress` against Pillow's `save(quality=Q, optimize=True)` at equal Q.

    python3 benches/recompress-vs-pillow.py [DIR] [--quality Q] [--runs N]     (corpus/real, 60, 3)
    python3 benches/recompress-vs-pillow.py --held-out [--quality Q]

Compare mode. The files of DIR whose decision quality (`jpgtool quality --json`) is above Q are
the set both tools re-encode. For each way of re-encoding, it reports the total size of the
outputs, the mean PSNR of each output against its original (both decoded by Pillow's
libjpeg-turbo to RGB, over all pixels) and the CPU time (user + sys) of encoding the whole set
on one thread: the median of --runs runs, the ways interleaved run by run. jpgtool's time is the
whole process (`recompress -j 1 -o TMP`, GNU-time-like accounting through os.wait4); Pillow's
is its loop only (open, save; interpreter start-up excluded), which favours Pillow. Pillow's
save is given the original's EXIF and ICC (what a careful script does), once with its default
chroma sampling (4:2:0 whatever the input's) and once with subsampling="keep" (the input's, as
jpgtool keeps it by default). Files jpgtool keeps because the re-encoding is not smaller count at
their original size and PSNR is measured on them as they stand (infinite PSNR is left out of
the mean, and said).

Held-out mode. Makes files with Pillow at qualities 40..95 from the corpus photos, with an EXIF
block, runs `recompress -q Q --in-place` on copies, and checks: every file at or below Q is
byte-identical, every other reads back Q (`jpgtool quality`), is smaller and keeps its EXIF.

Environment: JPGTOOL (default target/release/jpgtool). Needs python3 with Pillow and numpy.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, JpegImagePlugin

JPGTOOL = os.environ.get("JPGTOOL", "target/release/jpgtool")


def decision_qualities(paths):
    out = subprocess.run([JPGTOOL, "quality", "--json", "--no-bpp", *paths],
                         capture_output=True, text=True, check=False).stdout
    result = {}
    for line in out.splitlines():
        obj = json.loads(line)
        if obj.get("ok"):
            result[obj["path"]] = obj["decision_quality"]
    return result


def rgb(data_or_path):
    im = Image.open(io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path)
    return np.asarray(im.convert("RGB"), dtype=np.float64)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def metadata_bytes(data):
    """Bytes of APPn and COM segments (markers included) before the first scan."""
    total, at = 0, 2
    while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] != 0xDA:
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if 0xE0 <= data[at + 1] <= 0xEF or data[at + 1] == 0xFE:
            total += 2 + length
        at += 2 + length
    return total


def sampling_class(path):
    """4:2:0, 4:2:2, 4:4:4 or other, from the luma sampling factors (chroma at 1x1)."""
    with Image.open(path) as im:
        return {2: "4:2:0", 1: "4:2:2", 0: "4:4:4"}.get(JpegImagePlugin.get_sampling(im), "other")


def run_cpu(argv):
    """User + sys seconds of one child process."""
    pid = os.spawnvp(os.P_NOWAIT, argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0,):
        sys.exit(f"{argv[:3]} failed with {status}")
    return usage.ru_utime + usage.ru_stime


def pillow_save(path, quality, options):
    im = Image.open(path)
    extra = {k: im.info[k] for k in ("exif", "icc_profile") if im.info.get(k)}
    extra.update(options)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=True, **extra)
    return buf.getvalue()


def compare(args):
    files = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir)
                   if f.lower().endswith((".jpg", ".jpeg")))
    dq = decision_qualities(files)
    chosen = [f for f in files if dq.get(f) is not None and dq[f] > args.quality]
    # Pillow cannot open CMYK/YCCK the same way; keep the files both can decode to RGB.
    chosen = [f for f in chosen if Image.open(f).mode in ("RGB", "L")]
    print(f"{len(chosen)} files above q{args.quality} in {args.dir} "
          f"({sum(os.path.getsize(f) for f in chosen)} bytes)")
    tmp = tempfile.mkdtemp()
    ways = {
        "jpgtool (default: coefficients, dead zone)": [],
        "jpgtool --rounding nearest": ["--rounding", "nearest"],
        "jpgtool --method pixels": ["--method", "pixels"],
        "jpgtool --smallest": ["--smallest"],
        "jpgtool --sampling 420": ["--sampling", "420"],
    }
    pillows = {"Pillow optimize=True": {}, "Pillow optimize=True subsampling=keep":
               {"subsampling": "keep"}}
    cpu = {name: [] for name in [*ways, *pillows]}
    outputs = {}
    for run in range(args.runs):
        for way, (name, flags) in enumerate(ways.items()):
            out = os.path.join(tmp, f"{way}-{run}")
            argv = [JPGTOOL, "recompress", "-q", str(args.quality), "-j", "1", "--quiet",
                    *flags, "-o", out + "/", *chosen]
            cpu[name].append(run_cpu(argv))
            outputs[name] = out
        pil = {}
        for name, extra in pillows.items():
            start = time.process_time()
            pil[name] = {f: pillow_save(f, args.quality, extra) for f in chosen}
            cpu[name].append(time.process_time() - start)
    originals = {f: rgb(f) for f in chosen}
    datas = {}
    for name in cpu:
        datas[name] = {}
        for f in chosen:
            if name in pil:
                datas[name][f] = pil[name][f]
            else:
                with open(os.path.join(outputs[name], os.path.basename(f)), "rb") as fh:
                    datas[name][f] = fh.read()
    # Files some way kept unchanged (not smaller re-encoded) are left out of the PSNR mean of
    # every way, so that all means are over the same files.
    scores = {name: {f: psnr(originals[f], rgb(d)) for f, d in datas[name].items()}
              for name in cpu}
    kept = {f for name in cpu for f in chosen if scores[name][f] == float("inf")}
    same = [f for f in chosen if f not in kept]
    base = "Pillow optimize=True"
    rows = {}
    for name in cpu:
        total = sum(len(d) for d in datas[name].values())
        image = total - sum(metadata_bytes(d) for d in datas[name].values())
        rows[name] = (total, image, statistics.mean(scores[name][f] for f in same),
                      statistics.median(cpu[name]))
    classes = {}
    for f in same:
        classes.setdefault(sampling_class(f), []).append(f)
    for cls, members in sorted(classes.items()):
        print(f"\n{cls} sources ({len(members)} files): image bytes and mean PSNR against Pillow's")
        print("\n| way | image bytes | vs Pillow | mean PSNR dB | vs Pillow |")
        print("| --- | ---: | ---: | ---: | ---: |")
        sums = {}
        for name in cpu:
            image = sum(len(datas[name][f]) - metadata_bytes(datas[name][f]) for f in members)
            sums[name] = (image, statistics.mean(scores[name][f] for f in members))
        for name, (image, p) in sums.items():
            b = sums[base]
            print(f"| {name} | {image} | {image / b[0]:.3f}x | {p:.2f} | {p - b[1]:+.2f} |")
    print(f"\nq{args.quality}: {len(chosen)} files; PSNR over the {len(same)} that no way kept "
          f"unchanged; CPU median of {args.runs} runs, one thread")
    print("\n| way | bytes | image bytes (no APPn/COM) | vs Pillow | mean PSNR dB | vs Pillow "
          "| CPU s | vs Pillow |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (total, image, p, c) in rows.items():
        b = rows[base]
        print(f"| {name} | {total} | {image} | {image / b[1]:.3f}x | {p:.2f} | {p - b[2]:+.2f} "
              f"| {c:.2f} | {c / b[3]:.2f}x |")
    shutil.rmtree(tmp)


def held_out(args):
    sources = ["corpus/real/imagemagick-mountains.jpg", "corpus/real/jpeg-decoder-bench-tower.jpg",
               "corpus/real/libvips-sample.jpg", "corpus/real/sharp-flowers.jpg"]
    tmp = tempfile.mkdtemp()
    exif = Image.Exif()
    exif[0x010F] = "jpgtool held-out check"  # Make
    exif[0x0132] = "2024:01:02 03:04:05"  # DateTime
    expected = {}
    for s, src in enumerate(sources):
        im = Image.open(src).convert("RGB")
        for q in range(40, 100, 5):
            path = os.path.join(tmp, f"{s}-q{q}.jpg")
            im.save(path, quality=q, exif=exif.tobytes())
            with open(path, "rb") as fh:
                expected[path] = (q, hashlib.sha256(fh.read()).hexdigest(), os.path.getsize(path))
    subprocess.run([JPGTOOL, "recompress", "-q", str(args.quality), "--in-place", "--quiet",
                    *expected], check=True)
    back = decision_qualities(list(expected))
    bad = 0
    for path, (q, digest, size) in expected.items():
        with open(path, "rb") as fh:
            data = fh.read()
        if q <= args.quality:
            ok = hashlib.sha256(data).hexdigest() == digest
            what = "byte-identical" if ok else "CHANGED"
        else:
            kept = Image.open(path).getexif().get(0x010F) == "jpgtool held-out check"
            ok = back.get(path) == args.quality and len(data) < size and kept
            what = f"q{back.get(path)} {size} -> {len(data)} bytes, EXIF {'kept' if kept else 'LOST'}"
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(path)}: {what}")
    print(f"{len(expected) - bad}/{len(expected)} files as expected")
    shutil.rmtree(tmp)
    return 1 if bad else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", default="corpus/real")
    parser.add_argument("--quality", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--held-out", action="store_true")
    args = parser.parse_args()
    if not os.path.exists(JPGTOOL):
        subprocess.run(["cargo", "build", "--release"], check=True)
    sys.exit(held_out(args) if args.held_out else compare(args))


if __name__ == "__main__":
    main()

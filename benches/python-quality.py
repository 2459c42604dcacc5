#!/usr/bin/env python3
"""Files per second: ``jpgtool.quality_many`` against Pillow reading each file's tables.

Pillow's ``Image.open(path).quantization`` is the closest a Python user gets to a JPEG's quality
today: ``Image.open`` reads the headers only (up to the first scan) and parses the DQT tables.
The folder is made first: the repository's ``corpus/real`` photos, copied as they are, plus
variants that Pillow writes from them at qualities 30-95 (4:2:0, 4:4:4, progressive), scaled
to at most 1600 pixels, until there are ``--files`` of them (default 5000).

Each method reads the whole folder ``--rounds`` times (default 5), the methods interleaved round
by round so that a busy machine slows them alike; the page cache is warm for all of them (each
round follows a full read by another method). The median round is reported (wall time, and
the process's CPU time over all threads, which a loaded machine distorts less), with its ratio
to Pillow's median. "cores used" is CPU time over wall time: what the scheduler gave the
process (under Linux's autogroup scheduling a session gets its share of the cores however many
threads it runs). A line with no parsing at all (open, fstat, read the first 4 KiB, close)
shows the floor any Python code stands on. "calling thread CPU" is the CPU time of the thread
that made the call: with worker threads, the part that does not spread over cores.

    python benches/python-quality.py [--files 5000] [--rounds 5] [--dir DIR] [--keep]

Needs Pillow and the jpgtool package (``pip install ./python``, a release build).
"""

import argparse
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

from PIL import Image, JpegImagePlugin

import jpgtool

REPO = pathlib.Path(__file__).resolve().parents[1]


def make_folder(folder: pathlib.Path, count: int) -> list:
    """`count` JPEGs in `folder` (reused if it already holds enough)."""
    existing = sorted(str(p) for p in folder.glob("*.jpg"))
    if len(existing) >= count:
        return existing[:count]
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((REPO / "corpus" / "real").glob("*.jpg"))
    paths = []
    for src in sources:
        dst = folder / f"orig-{src.name}"
        shutil.copy(src, dst)
        paths.append(str(dst))
    images = []
    for src in sources:
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((1600, 1600))
            images.append((src.stem, im))
    settings = [
        {"subsampling": 2},
        {"subsampling": 0},
        {"subsampling": 2, "progressive": True},
    ]
    i = 0
    while len(paths) < count:
        stem, im = images[i % len(images)]
        q = 30 + (i * 7) % 66
        setting = settings[(i // len(images)) % len(settings)]
        dst = folder / f"{i:05}-{stem}-q{q}.jpg"
        im.save(dst, "JPEG", quality=q, **setting)
        paths.append(str(dst))
        i += 1
        if i % 500 == 0:
            print(f"  written {len(paths)} files", file=sys.stderr)
    return paths


def pillow(paths):
    out = []
    for p in paths:
        with Image.open(p) as im:
            out.append(im.quantization)
    return out


def pillow_jpeg_only(paths):
    """Pillow's JPEG reader without `Image.open`'s format dispatch: the fastest way Pillow
    offers, though not what users write."""
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out.append(JpegImagePlugin.JpegImageFile(f).quantization)
    return out


def open_read(paths):
    """The least any Python code pays per file before parsing a byte: open, the size, the first
    page, close (no parsing, no result beyond the bytes)."""
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out.append((os.fstat(f.fileno()).st_size, f.read(4096)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", help="folder for the files (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    folder = pathlib.Path(args.dir) if args.dir else pathlib.Path(tempfile.mkdtemp())
    try:
        print(f"making {args.files} files in {folder}", file=sys.stderr)
        paths = make_folder(folder, args.files)
        total = sum(os.path.getsize(p) for p in paths)
        methods = {
            "Pillow Image.open(p).quantization": lambda: pillow(paths),
            "Pillow JpegImageFile(open(p)).quantization": lambda: pillow_jpeg_only(paths),
            "Python open + fstat + read(4096) + close, no parsing": lambda: open_read(paths),
            "jpgtool.quality_many(bpp=False)": lambda: jpgtool.quality_many(paths, bpp=False),
            "jpgtool.quality_many(bpp=False, threads=1)": lambda: jpgtool.quality_many(
                paths, threads=1, bpp=False
            ),
            "jpgtool.quality_many() (bpp: walks to EOI)": lambda: jpgtool.quality_many(paths),
            "[jpgtool.quality(p, bpp=False) for p]": lambda: [
                jpgtool.quality(p, bpp=False) for p in paths
            ],
        }
        # Sanity: every file is read, and the same files succeed for both.
        ours = jpgtool.quality_many(paths, bpp=False)
        assert sum(r["ok"] for r in ours) == len(pillow(paths)) == len(paths)
        times = {name: [] for name in methods}
        cpu = {name: [] for name in methods}
        caller = {name: [] for name in methods}
        for _ in range(args.rounds):
            for name, run in methods.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                start_caller = time.thread_time()
                run()
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
                caller[name].append(time.thread_time() - start_caller)
        pillow_name = "Pillow Image.open(p).quantization"
        base = statistics.median(times[pillow_name])
        base_cpu = statistics.median(cpu[pillow_name])
        load = os.getloadavg()[0]
        print(f"{len(paths)} files, {total / 1e6:.0f} MB, {os.cpu_count()} cores, load "
              f"average {load:.1f}, median of {args.rounds} rounds")
        print("| method | wall s | files/s | vs Pillow | CPU s (all threads) | CPU µs/file "
              "| CPU vs Pillow | calling thread CPU µs/file | cores used |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        per_file = 1e6 / len(paths)
        for name, ts in times.items():
            med, med_cpu = statistics.median(ts), statistics.median(cpu[name])
            print(f"| {name} | {med:.3f} | {len(paths) / med:,.0f} | {base / med:.1f}x "
                  f"| {med_cpu:.3f} | {med_cpu * per_file:.1f} | {base_cpu / med_cpu:.1f}x "
                  f"| {statistics.median(caller[name]) * per_file:.1f} | {med_cpu / med:.2f} |")
    finally:
        if not args.dir and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

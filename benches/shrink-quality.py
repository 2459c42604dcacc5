#!/usr/bin/env python3
"""Size against fidelity of downscaled outputs by quality, to choose shrink's default for them.

    python3 benches/shrink-quality.py [--width W] FILE_OR_DIR...      (W = 800)

For each input, every tool downscales to width W at quality 100 (its own reference: what the
resampling gives before the encoding loss) and at each quality measured; PSNR and SSIM (luma,
7x7 uniform window, the constants of Wang et al. 2004) are taken against that tool's own
reference, so the figures measure what the quality setting costs, not how tools resample.

Tools: jpgtool shrink (-q 60..95; no -q gives the default), vipsthumbnail (its default, Q=75,
and Q=80) when installed, sharp (its default, quality 80) when `node -e "require('sharp')"`
works (set NODE_PATH to where it is installed), ImageMagick `convert -thumbnail` (its default:
the input's quality estimate, else 92).

Environment: JPGTOOL (default target/release/jpgtool). Needs python3 with Pillow and numpy.
"""

import argparse
import os
import shutil
import subprocess
import tempfile

import numpy as np
from PIL import Image

JPGTOOL = os.environ.get("JPGTOOL", "target/release/jpgtool")


def luma(path):
    return np.asarray(Image.open(path).convert("L"), dtype=np.float64)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def box(x, r=3):
    """Mean over a (2r+1)^2 window, valid region only, by summed-area tables."""
    s = np.pad(x, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    k = 2 * r + 1
    return (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]) / (k * k)


def ssim(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = box(a), box(b)
    va, vb, cov = box(a * a) - ma * ma, box(b * b) - mb * mb, box(a * b) - ma * mb
    return float(np.mean(((2 * ma * mb + c1) * (2 * cov + c2)) /
                         ((ma * ma + mb * mb + c1) * (va + vb + c2))))


def run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def have_sharp():
    return subprocess.run(["node", "-e", "require('sharp')"], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--width", type=int, default=800)
    args = parser.parse_args()
    files = []
    for item in args.inputs:
        if os.path.isdir(item):
            files += sorted(os.path.join(item, f) for f in os.listdir(item)
                            if f.lower().endswith((".jpg", ".jpeg")))
        else:
            files.append(item)
    tmp = tempfile.mkdtemp()
    w = args.width
    tools = {}  # name -> (reference maker, {label: maker})

    def jpg(q):
        flags = [] if q is None else ["-q", str(q)]
        return lambda src, out: run([JPGTOOL, "shrink", "--quiet", "--width", str(w), *flags,
                                     src, "-o", out])
    tools["jpgtool shrink"] = (jpg(100), {**{f"-q {q}": jpg(q) for q in range(60, 100, 5)},
                                          "default": jpg(None)})
    if shutil.which("vipsthumbnail"):
        def vips(q):
            opt = "" if q is None else f"[Q={q}]"
            return lambda src, out: run(["vipsthumbnail", src, "-s", f"{w}x", "-o", out + opt])
        tools["vipsthumbnail"] = (vips(100), {"default (Q=75)": vips(None), "Q=80": vips(80)})
    if have_sharp():
        def sharp(q):
            opt = "" if q is None else f"{{quality:{q}}}"
            code = (f"require('sharp')(process.argv[1]).resize({w}).jpeg({opt})"
                    f".toFile(process.argv[2])")
            return lambda src, out: run(["node", "-e", code, src, out])
        tools["sharp"] = (sharp(100), {"default (quality 80)": sharp(None)})
    if shutil.which("convert"):
        def magick(q):
            opt = [] if q is None else ["-quality", str(q)]
            return lambda src, out: run(["convert", src, "-thumbnail", f"{w}x", *opt, out])
        tools["convert -thumbnail"] = (magick(100), {"default": magick(None), "-quality 80": magick(80)})

    print(f"{len(files)} inputs, width {w}; PSNR/SSIM against each tool's own q100 output\n")
    print("| tool | setting | total bytes | mean PSNR dB | mean SSIM |")
    print("| --- | --- | ---: | ---: | ---: |")
    for tool, (reference, settings) in tools.items():
        refs = []
        for i, f in enumerate(files):
            out = os.path.join(tmp, f"ref-{i}.jpg")
            reference(f, out)
            refs.append(luma(out))
        for label, make in settings.items():
            total, ps, ss = 0, [], []
            for i, f in enumerate(files):
                out = os.path.join(tmp, f"out-{i}.jpg")
                make(f, out)
                total += os.path.getsize(out)
                y = luma(out)
                ps.append(psnr(refs[i], y))
                ss.append(ssim(refs[i], y))
            print(f"| {tool} | {label} | {total} | {np.mean(ps):.2f} | {np.mean(ss):.4f} |")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Structure a watermark draws that is not a tone map, measured on marked files.

Layer 1 changes luma through per-group tone maps of the low-pass luma: every pixel of one tone
should move alike. Among the smooth pixels of the cover (low-passed gradient under 0.5 grey
levels per pixel) that share a low-passed tone (to a quarter of a grey level), the spread of the
change (marked minus cover, low-passed at 3 pixels so that the pattern's 2-pixel cells and
JPEG's rounding mostly average out) is therefore structure drawn on the image: blotches on a
plateau, bands across a gradient. Prints, per marked file, the largest spread over the tones
with at least 2000 such pixels, the tone where it occurs, and the 90th percentile and median
over tones. A plain JPEG re-encode of the cover gives the floor (about 0.05).

    benches/wm-visibility.py COVER.jpg MARKED.jpg [MARKED2.jpg ...]

Needs numpy, Pillow and djpeg (luma is read as djpeg -grayscale writes it: the Y channel).
"""
import io
import subprocess
import sys

import numpy as np
from PIL import Image


def luma(path):
    pgm = subprocess.run(["djpeg", "-grayscale", "-pnm", path], capture_output=True,
                         check=True).stdout
    return np.asarray(Image.open(io.BytesIO(pgm)), dtype=np.float64)


def blur(a, sigma):
    r = int(np.ceil(3 * sigma))
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma * sigma))
    k /= k.sum()
    p = np.pad(a, r, mode="edge")
    p = np.apply_along_axis(lambda v: np.convolve(v, k, "valid"), 0, p)
    return np.apply_along_axis(lambda v: np.convolve(v, k, "valid"), 1, p)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cover = luma(sys.argv[1])
    low = blur(cover, 3.0)
    gy, gx = np.gradient(low)
    smooth = np.hypot(gx, gy) < 0.5
    tone = np.round(low * 4).astype(int)[smooth]
    order = np.argsort(tone, kind="stable")
    tone = tone[order]
    keys, starts, counts = np.unique(tone, return_index=True, return_counts=True)
    for path in sys.argv[2:]:
        change = blur(luma(path) - cover, 3.0)[smooth][order]
        spreads = sorted(((np.std(change[s:s + n]), k / 4, n)
                          for k, s, n in zip(keys, starts, counts) if n >= 2000), reverse=True)
        if not spreads:
            print(f"{path}: no tone with 2000 smooth pixels")
            continue
        values = np.array([s for s, _, _ in spreads])
        top = spreads[0]
        print(f"{path}: {smooth.mean() * 100:.0f}% smooth, {len(values)} tones; spread of the "
              f"change within a tone: max {top[0]:.3f} (tone {top[1]:.2f}, {top[2]} px), "
              f"90th pct {np.percentile(values, 90):.3f}, median {np.median(values):.3f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Copy attack: lift a marked photo's high-pass residual and add it to an unrelated photo.

    transplant.py MARKED FILTERED HOST GAIN OUT.jpg

The residual is MARKED minus FILTERED (MARKED after a low-pass or a denoiser: ImageMagick's
`-blur 0x1.5` or `-statistic median 3x3`), per RGB channel. HOST is resized (Lanczos) to
MARKED's size, the residual times GAIN is added, and the result is saved as a JPEG at quality
92 (4:2:0). Prints the forgery's PSNR against the resized host, dB.
"""
import sys

import numpy as np
from PIL import Image


def rgb(path, size=None):
    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None and im.size != size:
            im = im.resize(size, Image.LANCZOS)
        return np.asarray(im, dtype=np.float64)


def main():
    marked_path, filtered_path, host_path, gain, out = sys.argv[1:6]
    with Image.open(marked_path) as im:
        size = im.size
    marked = rgb(marked_path)
    residual = marked - rgb(filtered_path, size)
    host = rgb(host_path, size)
    forged = np.clip(np.rint(host + float(gain) * residual), 0, 255)
    Image.fromarray(forged.astype(np.uint8), "RGB").save(out, "JPEG", quality=92)
    mse = float(np.mean((forged - host) ** 2))
    print("%.2f" % (10 * np.log10(255.0**2 / mse)) if mse > 0 else "inf")


if __name__ == "__main__":
    main()

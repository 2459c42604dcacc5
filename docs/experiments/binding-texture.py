#!/usr/bin/env python3
"""Exploration behind docs/watermark.md, "Binding": could the pattern's local amplitude, checked
against the image's own texture, tell a genuine mark from a transplanted one? (Not shipped.)

    binding-texture.py JPGTOOL KEY_FILE SOURCE HOST[,HOST...] ATTACK[,ATTACK...]

Marks SOURCE (a random payload), applies each ATTACK of the watermark attack suite
(`attack.py`, found through SUITE, default ../shared/tools/wm-attack beside the repository) to
the mark, and transplants the mark onto each HOST (resized to the source's size): the residual
of ImageMagick's `-blur 0x1.5` x1 and x2, and of `-statistic median 3x3` x1. For every image it
prints blind `verify`'s pilot score, layer 1's best score for the payload (`--layer
histogram`), and the correlation over 64 x 64 blocks between the pattern's local energy and the
image's texture, fine (the mark's own mask: local RMS of luma minus its 1-pixel blur) and coarse
(local RMS of a 2.5-pixel blur minus its 4-pixel blur). The pattern's energy: the high-passed
luma folded on the lattice blind `verify` reports (64 x 64 bins per tile, each pixel's own
value left out), times the pixel's high-pass, averaged over the block.
Needs numpy and Pillow.
"""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

root = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("SUITE", os.path.join(root, "../../../shared/tools/wm-attack")))
import attack  # noqa: E402


def blur(a, s):
    r = int(3 * s + 1)
    x = np.arange(-r, r + 1)
    k = np.exp(-x * x / (2 * s * s))
    k /= k.sum()
    p = np.pad(a, ((r, r), (0, 0)), mode="reflect")
    a = sum(k[i] * p[i:i + a.shape[0]] for i in range(2 * r + 1))
    p = np.pad(a, ((0, 0), (r, r)), mode="reflect")
    return sum(k[i] * p[:, i:i + a.shape[1]] for i in range(2 * r + 1))


def luma(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    return 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]


def verify(jpgtool, key, path, payload=None):
    cmd = [jpgtool, "verify", path, "--key-file", key, "--json"]
    if payload:
        cmd += ["--payload", payload, "--layer", "histogram"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def correlations(path, lattice):
    L = luma(path)
    h = L - blur(L, 1.0)
    H, W = h.shape
    fine = np.sqrt(blur(h * h, 2.0))
    low = blur(L, 2.5)
    band = low - blur(low, 4.0)
    coarse = np.sqrt(blur(band * band, 4.0))
    m = np.array([[lattice[0][0], lattice[1][0]], [lattice[0][1], lattice[1][1]]], dtype=np.float64)
    inv = np.linalg.inv(m)
    yy, xx = np.mgrid[0:H, 0:W]
    n = 64
    a = ((((inv[0, 0] * xx + inv[0, 1] * yy) % 1.0) * n).astype(int)) % n
    b = ((((inv[1, 0] * xx + inv[1, 1] * yy) % 1.0) * n).astype(int)) % n
    idx = (b * n + a).ravel()
    hv = h.ravel()
    sums = np.bincount(idx, weights=hv, minlength=n * n)
    counts = np.bincount(idx, minlength=n * n)
    folded = (sums[idx] - hv) / np.maximum(counts[idx] - 1, 1)
    energy = (hv * folded).reshape(H, W)
    B = 64
    rows = [(energy[y:y + B, x:x + B].mean(), fine[y:y + B, x:x + B].mean(), coarse[y:y + B, x:x + B].mean())
            for y in range(0, H - B + 1, B) for x in range(0, W - B + 1, B)]
    r = np.array(rows)
    return float(np.corrcoef(r[:, 0], r[:, 1])[0, 1]), float(np.corrcoef(r[:, 0], r[:, 2])[0, 1]), len(r)


def report(jpgtool, key, tag, path, payload):
    blind = verify(jpgtool, key, path)
    layer1 = verify(jpgtool, key, path, payload)
    line = "%-60s pilot %5.1f  layer-1 score %5.2f" % (tag, blind["pilot_score"], layer1.get("score", float("nan")))
    if blind.get("lattice"):
        rf, rc, blocks = correlations(path, blind["lattice"])
        line += "  texture r fine %5.2f coarse %5.2f (%d blocks)" % (rf, rc, blocks)
    print(line, flush=True)


def main():
    jpgtool, key, source, hosts, attacks = sys.argv[1:6]
    work = os.environ.get("TMPDIR", "/tmp") + "/binding-texture"
    os.makedirs(work, exist_ok=True)
    payload = os.urandom(32).hex()
    marked = os.path.join(work, "marked.jpg")
    subprocess.run([jpgtool, "mark", source, "-o", marked, "--key-file", key, "--payload", payload,
                    "--quiet", "--force"], check=True)
    by_name = {a.name: a for a in attack.ATTACKS}
    name = os.path.basename(source)
    for a in attacks.split(","):
        out = os.path.join(work, "attacked.jpg")
        attack.save_jpeg(by_name[a].fn(attack.load_rgb(marked), np.random.default_rng(1)), out, by_name[a].quality)
        report(jpgtool, key, "genuine %s %s" % (name, a), out, payload)
    rgb = np.asarray(Image.open(marked).convert("RGB"), dtype=np.float64)
    residuals = {}
    for label, args in (("blur", ["-blur", "0x1.5"]), ("median", ["-statistic", "median", "3x3"])):
        filtered = os.path.join(work, label + ".png")
        subprocess.run(["convert", marked] + args + [filtered], check=True)
        residuals[label] = rgb - np.asarray(Image.open(filtered).convert("RGB"), dtype=np.float64)
    for host in hosts.split(","):
        size = (rgb.shape[1], rgb.shape[0])
        base = np.asarray(Image.open(host).convert("RGB").resize(size, Image.LANCZOS), dtype=np.float64)
        for label, gain in (("blur", 1), ("blur", 2), ("median", 1)):
            out = os.path.join(work, "forged.jpg")
            forged = np.clip(np.rint(base + gain * residuals[label]), 0, 255).astype(np.uint8)
            Image.fromarray(forged).save(out, quality=92)
            report(jpgtool, key, "transplant onto %s %s x%d" % (os.path.basename(host), label, gain), out, payload)


if __name__ == "__main__":
    main()

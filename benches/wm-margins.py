#!/usr/bin/env python3
"""Watermark margins: how far above (or below) its threshold `verify --payload` scores after
each attack, over several keys. The suite (`benches/wm-attack.sh`) gives pass rates for one key;
with 7 or 8 covers a single cover moves a rate by 12-14 %, so tuning needs the margins behind
them, over more (cover, key) pairs.

    PYTHON benches/wm-margins.py JPGTOOL OUT_DIR COVER.jpg... [--keys N] [--attacks a,b,c]

Attacks are the shared suite's (`../shared/tools/wm-attack/attack.py`, imported, not copied);
attacked images are re-saved as the suite saves them. Prints, per attack, how many marked pairs
verified and the mean margin (score - threshold). Needs numpy, Pillow (and opencv, as the suite).
"""
import argparse
import concurrent.futures
import hashlib
import importlib.util
import json
import os
import subprocess

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.environ.get("SUITE", os.path.join(HERE, "..", "..", "shared", "tools", "wm-attack"))
DEFAULT_ATTACKS = ("none,jpeg50,brightness+20,contrast1.2,crop25_center,crop25_offset,rot45_crop,"
                   "rot90_crop,rot15_crop,rot30_crop,combo_rot5_scale0.8_jpeg75,noise_sigma5,"
                   "scale0.5")


def load_suite():
    spec = importlib.util.spec_from_file_location("attack", os.path.join(SUITE, "attack.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jpgtool")
    ap.add_argument("out")
    ap.add_argument("covers", nargs="+")
    ap.add_argument("--keys", type=int, default=4)
    ap.add_argument("--attacks", default=DEFAULT_ATTACKS)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    suite = load_suite()
    attacks = {a.name: a for a in suite.ATTACKS}
    names = args.attacks.split(",")
    os.makedirs(args.out, exist_ok=True)

    def verify(path, key, payload):
        run = subprocess.run([args.jpgtool, "verify", path, "--key", key, "--payload", payload,
                              "--json"], capture_output=True, text=True)
        report = json.loads(run.stdout.splitlines()[0])
        return report["score"] - report["threshold"]

    def one(job):
        cover, k = job
        key, payload = "margins-key-%d" % k, hashlib.sha256(b"%d" % k).hexdigest()
        base = "%s-k%d" % (os.path.splitext(os.path.basename(cover))[0], k)
        marked = os.path.join(args.out, base + "-marked.jpg")
        run = subprocess.run([args.jpgtool, "mark", cover, "-o", marked, "--key", key,
                              "--payload", payload], capture_output=True, text=True)
        if run.returncode != 0:
            return base, None
        image = Image.open(marked).convert("RGB")
        rng = np.random.default_rng(k)
        margins = {}
        for name in names:
            attack = attacks[name]
            path = os.path.join(args.out, "%s-%s.jpg" % (base, name))
            suite.save_jpeg(attack.fn(image, rng), path, attack.quality)
            margins[name] = verify(path, key, payload)
            os.remove(path)
        os.remove(marked)
        return base, margins

    jobs = [(c, k) for k in range(1, args.keys + 1) for c in args.covers]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, jobs))
    marked = [m for _, m in results if m is not None]
    refused = [b for b, m in results if m is None]
    print("%d (cover, key) pairs, %d marked, %d refused: %s"
          % (len(results), len(marked), len(refused), " ".join(refused) or "-"))
    print("| attack | verified | mean margin | lowest |")
    print("|---|---|---|---|")
    for name in names:
        values = [m[name] for m in marked]
        if values:
            print("| %s | %d / %d | %.2f | %.2f |" % (name, sum(v >= 0 for v in values),
                                                      len(values), np.mean(values), min(values)))


if __name__ == "__main__":
    main()

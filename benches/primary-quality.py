#!/usr/bin/env python3
"""Accuracy of `jpgtool quality`'s primary quality (re-saved files) on photos of the corpus.

    benches/primary-quality.py make  SET OUT    # writes the test files of SET (tune|heldout)
    benches/primary-quality.py make-moz SET OUT  # only the mozjpeg single saves (MOZJPEG_EXAMPLE)
    benches/primary-quality.py score OUT        # runs jpgtool over OUT and prints the figures

Sources are photos of the full corpus (CORPUS, default: ../shared/corpus beside the repository),
each decoded, reduced by at least 2 with Lanczos (so that the camera's own 8x8 grid is gone) to
at most 1280 pixels, and then saved:

* single saves at every quality 30..100 by Pillow (4:2:0) and by cjpeg (libjpeg-turbo, 4:2:0),
  and by mozjpeg (baseline, trellis on) when MOZJPEG_EXAMPLE names the binary of
  `cargo build --release --example mozjpeg_encode`;
* re-saves: q1 in 30..80 (step 2), then q2 in {90, 95}, through Pillow -> Pillow,
  cjpeg -> cjpeg (djpeg in between) and Pillow 4:4:4 -> cjpeg 4:2:0.

The tune set is what the thresholds in `src/quality/history.rs` were set on; the held-out set
was only scored. The figures go to docs/quality.md.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CORPUS", ROOT.parent / "shared" / "corpus"))
JPGTOOL = os.environ.get("JPGTOOL", str(ROOT / "target" / "release" / "jpgtool"))

SETS = {
    "tune": [
        "real/mde-Nikon_D70.jpg",
        "real/mde-Canon_EOS_D60.jpg",
        "real/mde-Olympus_PEN_E-P3.jpg",
        "real/sharp-flowers.jpg",
        "real/imagemagick-mountains.jpg",
        "real/mde-Kodak_DX4330.jpg",
    ],
    "heldout": [
        "large/mde-Nikon_D3100.jpg",
        "large/image-rs-examples-scaledown-test.jpg",
        "real/mde-Canon_PowerShot_G11.jpg",
        "real/mde-Casio_EX-Z3.jpg",
        "real/mde-FujiFilm_FinePixS5500.jpg",
        "real/mde-HTC_One.jpg",
        "real/mde-Pentax_ist_D.jpg",
        "real/mde-Sony_DSC-P52.jpg",
        "real/mde-Samsung_SM-J327T1.jpg",
        "real/jxl-testdata-flower.png.im_q85_420.jpg",
    ],
    # Fresh photos, scored once after the smaller sample of the primary quality was fixed (the
    # "heldout" set above had been scored with an earlier choice of sample).
    "heldout2": [
        "real/mde-Kodak_CLAS_Digital_Film_Scanner_HR200-1.jpg",
        "real/mde-Minolta_DiMAGE_X.jpg",
        "real/mde-Nokia_3110c-Mobile_Phone.jpg",
        "real/mde-Panasonic_NV-GX7.jpg",
        "real/mde-Reconyx_HF2_Pro_Covert.jpg",
        "real/mde-Sony_Mavica.jpg",
    ],
}

SINGLE = range(30, 101)
FIRST = range(30, 81, 2)
SECOND = (90, 95)


def source(path: Path) -> Image.Image:
    im = Image.open(path).convert("RGB")
    w, h = im.size
    f = max(2.0, max(w, h) / 1280)
    return im.resize((round(w / f), round(h / f)), Image.LANCZOS)


def cjpeg(ppm: Path, out: Path, q: int, extra=()):
    with open(out, "wb") as f:
        subprocess.run(["cjpeg", "-quality", str(q), *extra, str(ppm)], stdout=f, check=True)


def djpeg(jpg: Path, ppm: Path):
    with open(ppm, "wb") as f:
        subprocess.run(["djpeg", "-ppm", str(jpg)], stdout=f, check=True)


def make(which: str, out: Path, moz_only=False):
    out.mkdir(parents=True, exist_ok=True)
    moz = os.environ.get("MOZJPEG_EXAMPLE")
    for rel in SETS[which]:
        name = Path(rel).stem.replace(".", "-")
        im = source(CORPUS / rel)
        ppm = out / f"{name}.ppm"
        im.save(ppm)
        if moz_only:
            for q in SINGLE:
                subprocess.run([moz, str(ppm), str(q), str(out / f"{name}__single_moz_{q}.jpg")],
                               check=True)
            ppm.unlink()
            continue
        for q in SINGLE:
            im.save(out / f"{name}__single_pil_{q}.jpg", quality=q)
            cjpeg(ppm, out / f"{name}__single_cjpeg_{q}.jpg", q)
            if moz:
                subprocess.run([moz, str(ppm), str(q), str(out / f"{name}__single_moz_{q}.jpg")],
                               check=True)
        tmp = out / f"{name}.tmp.ppm"
        for q1 in FIRST:
            first_pil = out / f"{name}.first.jpg"
            im.save(first_pil, quality=q1)
            first_444 = out / f"{name}.first444.jpg"
            im.save(first_444, quality=q1, subsampling=0)
            first_cj = out / f"{name}.firstcj.jpg"
            cjpeg(ppm, first_cj, q1)
            for q2 in SECOND:
                Image.open(first_pil).save(out / f"{name}__double_pil-pil_{q1}_{q2}.jpg", quality=q2)
                djpeg(first_cj, tmp)
                cjpeg(tmp, out / f"{name}__double_cjpeg-cjpeg_{q1}_{q2}.jpg", q2)
                djpeg(first_444, tmp)
                cjpeg(tmp, out / f"{name}__double_pil444-cjpeg_{q1}_{q2}.jpg", q2)
        for f in (tmp, out / f"{name}.first.jpg", out / f"{name}.first444.jpg",
                  out / f"{name}.firstcj.jpg", ppm):
            f.unlink(missing_ok=True)
        print(f"{which}: {name}", file=sys.stderr)


def run(paths):
    res = subprocess.run([JPGTOOL, "quality", "--json", "--history", *map(str, paths)],
                         capture_output=True, text=True)
    return [json.loads(line) for line in res.stdout.splitlines()]


def score(out: Path, camera=True):
    files = sorted(out.glob("*.jpg"))
    rows = run(files)
    single = {}
    double_hits = double_total = 0
    misses = []
    scores_single = []
    for r in rows:
        stem = Path(r["path"]).stem
        _, kind = stem.split("__")
        parts = kind.split("_")
        if parts[0] == "single":
            enc = parts[1]
            s = single.setdefault(enc, [0, 0])
            s[1] += 1
            if r.get("primary_quality") is not None:
                s[0] += 1
                misses.append((stem, r.get("primary_quality_range"), r.get("primary_score"),
                               r.get("primary_evidence")))
            if r.get("primary_score") is not None:
                scores_single.append(r["primary_score"])
            if os.environ.get("DUMP"):
                print("score single", stem, r.get("primary_score"), r.get("primary_evidence"))
        else:
            q1 = int(parts[2])
            double_total += 1
            rng = r.get("primary_quality_range")
            if rng and q1 - 2 <= rng[0] and rng[1] <= q1 + 2:
                double_hits += 1
            else:
                misses.append((stem, rng, r.get("primary_score"), r.get("primary_evidence")))
            if os.environ.get("DUMP"):
                print("score double", stem, r.get("primary_score"), r.get("primary_evidence"))
    if camera:
        cams = sorted((CORPUS / "real").glob("*.jpg")) + sorted((CORPUS / "large").glob("*.jpg"))
        rows = run(cams)
        s = single.setdefault("corpus-camera", [0, 0])
        for r in rows:
            if not r.get("ok"):
                continue
            s[1] += 1
            if r.get("primary_quality") is not None:
                s[0] += 1
                misses.append((r["path"], r.get("primary_quality_range"), r.get("primary_score")))
            if r.get("primary_score") is not None:
                scores_single.append(r["primary_score"])
    print(f"re-saved (q1 30..80, q2 90/95): {double_hits}/{double_total} within +-2 of q1 "
          f"({100 * double_hits / max(1, double_total):.1f} %)")
    total_called = sum(v[0] for v in single.values())
    total = sum(v[1] for v in single.values())
    for enc, (called, n) in sorted(single.items()):
        print(f"single saves, {enc}: {n - called}/{n} null")
    print(f"single saves, all: {total - called_total(single)}/{total} null "
          f"({100 * (total - total_called) / max(1, total):.2f} %)")
    scores_single.sort()
    if scores_single:
        qs = [scores_single[int(p * (len(scores_single) - 1))] for p in (0, 0.001, 0.01, 0.05, 0.5)]
        print("single-save score (lowest ratio of any candidate): min %.3f, 0.1%% %.3f, 1%% %.3f, "
              "5%% %.3f, median %.3f (n=%d)" % (*qs, len(scores_single)))
    if os.environ.get("VERBOSE"):
        for m in misses:
            print("miss:", *m)


def called_total(single):
    return sum(v[0] for v in single.values())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("make", "make-moz"):
        make(sys.argv[2], Path(sys.argv[3]), moz_only=sys.argv[1] == "make-moz")
    elif len(sys.argv) == 3 and sys.argv[1] == "score":
        score(Path(sys.argv[2]), camera=not os.environ.get("NO_CAMERA"))
    else:
        sys.exit(__doc__)

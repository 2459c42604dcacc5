"""Transplants of the content term: marks each source, lifts its high-pass residual (the
marked image minus its 1.5-pixel Gaussian blur, or minus its 3 x 3 median), adds it once and
twice to every host resized to the source, saves the forgery at Q92 and runs `verify` blind on
it. Prints the forgeries' content scores and shares (mean, sd, largest), the coverage of
the forgeries whose share is highest, and the count `found`; writes OUT/rows.json
(docs/watermark.md, "The content term", "The content term's share" and "The content term's
coverage").

    wm-content-transplants.py OUT SOURCE[,SOURCE...] HOST[,HOST...]

Env: JPGTOOL (default target/release/jpgtool), KEY (a key file; default: 32 random bytes
written to OUT/key). Needs numpy, scipy and Pillow.
"""
import sys, os, json
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, median_filter
out, sources, hosts = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from wm_content import Marker  # noqa: E402

tool = Marker(out)
def rgb(p, size=None):
    im = Image.open(p).convert("RGB")
    if size and im.size != size: im = im.resize(size, Image.LANCZOS)
    return np.asarray(im, dtype=np.float64)
rows = []
for name, marked in tool.mark_each(sources):
    v = tool.verify(marked)
    rows.append(dict(kind="genuine", source=name, verdict=v.get("verdict"), cs=v.get("content_score"), share=v.get("content_share"), coverage=v.get("content_coverage")))
    M = rgb(marked); size = (M.shape[1], M.shape[0])
    res = {"blur": M - np.stack([gaussian_filter(M[..., c], 1.5) for c in range(3)], -1),
           "median": M - np.stack([median_filter(M[..., c], 3) for c in range(3)], -1)}
    for h in hosts:
        if os.path.basename(h) == name: continue
        H = rgb(h, size)
        for rk, rv in res.items():
            for g in (1, 2):
                F = np.clip(np.rint(H + g * rv), 0, 255).astype(np.uint8)
                fp = f"{out}/forged.jpg"
                Image.fromarray(F).save(fp, quality=92)
                v = tool.verify(fp)
                rows.append(dict(kind="forgery", source=name, host=os.path.basename(h), res=rk, gain=g, verdict=v.get("verdict"), cs=v.get("content_score"), share=v.get("content_share"), coverage=v.get("content_coverage")))
    print(name, file=sys.stderr)
json.dump(rows, open(f"{out}/rows.json", "w"))
f = [r for r in rows if r["kind"] == "forgery"]
cs = sorted([r["cs"] for r in f if r["cs"] is not None])
import statistics as st
print("genuine", [(r["source"][:12], r["cs"], r["share"], r["coverage"]) for r in rows if r["kind"] == "genuine"])
print(f"forgeries {len(f)} read {len(cs)} mean {st.mean(cs) if cs else 0:.2f} sd {st.pstdev(cs) if cs else 0:.2f} top {cs[-5:]} found {sum(r['verdict'] in ('found',) for r in f)}")
sh = sorted([r["share"] for r in f if r["share"] is not None])
print(f"shares: mean {st.mean(sh) if sh else 0:.3f} sd {st.pstdev(sh) if sh else 0:.3f} top {sh[-5:]}")
top = sorted((r for r in f if r["share"] is not None), key=lambda r: r["share"])[-5:]
print("highest shares (score, share, coverage):", [(r["cs"], r["share"], r["coverage"]) for r in top])

"""Transplants of the content term: marks each source, lifts its high-pass residual (the
marked image minus its 1.5-pixel Gaussian blur, or minus its 3 x 3 median), adds it once and
twice to every host resized to the source, saves the forgery at Q92 and runs `verify` blind on
it. Prints the forgeries' content scores (mean, sd, largest) and the count `found`; writes
OUT/rows.json (docs/watermark.md, "The content term").

    wm-content-transplants.py OUT SOURCE[,SOURCE...] HOST[,HOST...]

Env: JPGTOOL (default target/release/jpgtool), KEY (a key file; default: 32 random bytes
written to OUT/key). Needs numpy, scipy and Pillow.
"""
import sys, os, json, subprocess, hashlib
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, median_filter
out, sources, hosts = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
J = os.environ.get("JPGTOOL", "target/release/jpgtool")
os.makedirs(out, exist_ok=True)
key = os.environ.get("KEY") or os.path.join(out, "key")
if not os.path.exists(key):
    with open(key, "wb") as f:
        f.write(os.urandom(32))
def rgb(p, size=None):
    im = Image.open(p).convert("RGB")
    if size and im.size != size: im = im.resize(size, Image.LANCZOS)
    return np.asarray(im, dtype=np.float64)
def verify(p):
    r = subprocess.run([J, "verify", p, "--key-file", key, "--json"], capture_output=True, text=True)
    try: return json.loads(r.stdout.strip().splitlines()[-1])
    except Exception: return {"verdict": "error"}
rows = []
for src in sources:
    name = os.path.basename(src)
    payload = hashlib.sha256(name.encode()).hexdigest()
    marked = f"{out}/m-{name}"
    if os.path.exists(marked):
        os.remove(marked)
    r = subprocess.run([J, "mark", src, "-o", marked, "--key-file", key, "--payload", payload, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        print("refused", name, r.stderr.strip()[:200], file=sys.stderr); continue
    v = verify(marked)
    rows.append(dict(kind="genuine", source=name, verdict=v.get("verdict"), cs=v.get("content_score")))
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
                v = verify(fp)
                rows.append(dict(kind="forgery", source=name, host=os.path.basename(h), res=rk, gain=g, verdict=v.get("verdict"), cs=v.get("content_score")))
    print(name, file=sys.stderr)
json.dump(rows, open(f"{out}/rows.json", "w"))
f = [r for r in rows if r["kind"] == "forgery"]
cs = sorted([r["cs"] for r in f if r["cs"] is not None])
import statistics as st
print("genuine", [(r["source"][:12], r["cs"]) for r in rows if r["kind"] == "genuine"])
print(f"forgeries {len(f)} read {len(cs)} mean {st.mean(cs) if cs else 0:.2f} sd {st.pstdev(cs) if cs else 0:.2f} top {cs[-5:]} found {sum(r['verdict'] in ('found',) for r in f)}")

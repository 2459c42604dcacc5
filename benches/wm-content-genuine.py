"""Genuine marks and the content term: marks each source, attacks the marked file (JPEG 50
and 30, contrast 1.2, gamma 0.8, blur 1, noise 5, resizes to 1600/1080/720 pixels where
smaller, a centre crop to half the sides, a 3-degree rotation; Pillow), runs `verify` blind on
each and records the verdict, the content score and layer 1's binding (OUT/rows.json;
docs/watermark.md, "The content term").

    wm-content-genuine.py OUT SOURCE[,SOURCE...]

Env: JPGTOOL (default target/release/jpgtool), KEY (a key file; default: 32 random bytes
written to OUT/key). Needs numpy and Pillow.
"""
import sys, os, json
import numpy as np
from PIL import Image, ImageEnhance, ImageFilter
out, sources = sys.argv[1], sys.argv[2].split(",")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from wm_content import Marker  # noqa: E402

tool = Marker(out)
def save(im, q, path, sub=None):
    im.save(path, quality=q, **({"subsampling": sub} if sub is not None else {}))
rows = []
for name, marked in tool.mark_each(sources):
    im = Image.open(marked).convert("RGB"); w, h = im.size
    atk = {"as_is": None}
    def a(label, f): atk[label] = f
    a("jpeg50", lambda p: save(im, 50, p)); a("jpeg30", lambda p: save(im, 30, p))
    a("contrast1.2", lambda p: save(ImageEnhance.Contrast(im).enhance(1.2), 90, p))
    a("gamma0.8", lambda p: save(im.point(lambda v: int(round(255 * (v / 255) ** 0.8))), 90, p))
    a("blur1", lambda p: save(im.filter(ImageFilter.GaussianBlur(1)), 85, p))
    a("noise", lambda p: save(Image.fromarray(np.clip(np.asarray(im, float) + np.random.default_rng(1).normal(0, 5, (h, w, 3)), 0, 255).astype(np.uint8)), 80, p))
    for side, q in ((1600, 85), (1080, 72), (720, 60), (720, 72)):
        f = side / max(w, h)
        if f < 1:
            a(f"r{side}q{q}", lambda p, f=f, q=q: save(im.resize((round(w * f), round(h * f)), Image.LANCZOS), q, p))
    a("crop50", lambda p: save(im.crop((w // 4, h // 4, w // 4 + w // 2, h // 4 + h // 2)), 90, p))
    a("rot3", lambda p: save(im.rotate(3, Image.BICUBIC, expand=False), 90, p))
    for label, f in atk.items():
        path = marked if f is None else f"{out}/a.jpg"
        if f: f(path)
        v = tool.verify(path)
        rows.append(dict(source=name, attack=label, verdict=v.get("verdict"), cs=v.get("content_score"), l1=v.get("binds"), pilot=v.get("pilot_score")))
    print(name, " ".join(f"{r['attack']}:{r['cs']}" for r in rows if r["source"] == name), file=sys.stderr)
json.dump(rows, open(f"{out}/rows.json", "w"))
by = {}
for r in rows:
    by.setdefault(r["attack"], []).append(r)
for attack, v in by.items():
    reads = [r["cs"] for r in v if r["cs"] is not None]
    print(f"{attack}: {len(v)} marks, layer 2 reads {len(reads)}, content binds {sum(r['verdict'] == 'found' and not r['l1'] for r in v)}, smallest score {min(reads) if reads else '-'}")

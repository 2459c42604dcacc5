"""A binding carried by layer 2: an emulation, not jpgtool's code (docs/watermark.md,
"Experiment: a binding in the payload layer").

Usage: python3 binding-modulation.py COVER[,COVER...] HOST[,HOST...] EPS S1 S2 > OUT.json
(DEAD=<grey levels> in the environment sets the content sign's dead zone, default 0; DESC=1
makes the content sign a keyed hash, per cell, of four signs, DESC=2 of the first two.)

Each cover (luma) gets an emulated layer 2: keyed +-1 cells t of jpgtool's cell side, amplitude
a following texture as jpgtool's defaults do. The "plain" mark is a * t; the "mod" mark adds a
binding term at the same energy: a * t * (1 + EPS * k * g) / sqrt(1 + EPS^2), k a second keyed
+-1 per cell, g the cover's content sign (the sign of a difference of Gaussians at S1 and S2
cells, 0 under the dead zone). A verifier that has read the payload and found the lattice knows
t and k, and computes g' from the image it is given; per cell c, R_c and S_c are the sums of
the whitened high-pass and of the high-pass times g':
  z_plain = sum t_c R_c / sqrt(sum R_c^2)          (layer 2's correlation, payload known)
  z_bind  = sum t_c k_c S_c / sqrt(sum S_c^2)      (the binding: t k are fair keyed coins
                                                    unless this image's own content sign
                                                    modulates them)
  z_norm  = z_bind against the same statistic with g' shifted by 12-24 cells.
Genuine marks go through JPEG, tone, noise, blur, crop and resize attacks (geometry undone: a
verifier finds the lattice); forgeries add the mod mark's residual (1.5-pixel blur or 3 x 3
median, x1 and x2) to each host resized to the cover, saved at Q92.
"""
import io, sys, os, json, zlib
import numpy as np
from PIL import Image, ImageEnhance
from scipy.ndimage import gaussian_filter, median_filter

def luma(path_or_img):
    im = Image.open(path_or_img) if isinstance(path_or_img, str) else path_or_img
    a = np.asarray(im.convert("RGB"), dtype=np.float64)
    return 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]

def cell_side(w, h):
    long, short = max(w, h), min(w, h)
    wanted = next((c for c in (2, 4, 8, 16) if c * 720 >= 2 * long), 16)
    fits = next((c for c in (16, 8, 4, 2) if c * 64 * 3 <= short), 2)
    return min(wanted, fits)

def jpeg(a, q):
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L").save(buf, "JPEG", quality=q)
    buf.seek(0)
    return np.asarray(Image.open(buf), dtype=np.float64)

def resize(a, w, h, mode="F"):
    return np.asarray(Image.fromarray(a.astype(np.float32), "F").resize((w, h), Image.LANCZOS), dtype=np.float64)

DEAD = float(os.environ.get("DEAD", "0"))
DESC = int(os.environ.get("DESC", "0"))
TABLE = {}

def dog_sign(a, cell, s1, s2, off=(0, 0)):
    """The content sign: sign of the difference of Gaussians, 0 where it is under DEAD grey
    levels (too weak to be the image's own: a transplanted residual could decide it). With
    DESC=1: a keyed hash, per cell, of four signs (DoG at s1/s2 and 2s1/2s2 cells, and the
    two gradients of the coarse blur), 0 where any is in the dead zone."""
    d = gaussian_filter(a, s1 * cell) - gaussian_filter(a, s2 * cell)
    if not DESC:
        return np.where(np.abs(d) < DEAD, 0.0, np.where(d >= 0, 1.0, -1.0))
    d2 = gaussian_filter(a, 2 * s1 * cell) - gaussian_filter(a, 2 * s2 * cell)
    b = gaussian_filter(a, s2 * cell / 2)
    gy, gx = np.gradient(b)
    gy, gx = gy * cell * s1, gx * cell * s1
    feats = [d, d2, gx, gy][:DESC if DESC > 1 else 4]
    code = np.zeros(a.shape, dtype=np.int64)
    dead = np.zeros(a.shape, dtype=bool)
    for i, f in enumerate(feats):
        code |= (f >= 0).astype(np.int64) << i
        dead |= np.abs(f) < DEAD
    h, w = a.shape
    if "t" not in TABLE:
        TABLE["t"] = (np.random.default_rng(12345).integers(0, 2, size=(1024, 1024, 16), dtype=np.int8) * 2 - 1)
    table = TABLE["t"]
    yy = (np.arange(h) // cell + off[0])[:, None]
    xx = (np.arange(w) // cell + off[1])[None, :]
    g = table[yy, xx, code]
    return np.where(dead, 0.0, g)

def cell_sums(x, cell):
    h, w = x.shape
    hh, ww = h // cell * cell, w // cell * cell
    return x[:hh, :ww].reshape(hh // cell, cell, ww // cell, cell).sum(axis=(1, 3))

SHIFTS = [(dy, dx) for dy in (-24, -12, 0, 12, 24) for dx in (-24, -12, 0, 12, 24) if (dy, dx) != (0, 0)]

def zs(a, cells, kcells, cell, s1, s2, off=(0, 0)):
    """a: the image in the cover's frame (cells aligned); returns z_plain, z_bind and z_bind
    standardised against the same statistic with the content sign shifted by 12-24 cells
    (an empirical null: a shifted sign field is unrelated content, like a host's)."""
    hp = a - gaussian_filter(a, 2 * cell)
    # whitened as a detector would: by the local RMS of the high-pass
    hp = hp / np.sqrt(gaussian_filter(hp * hp, 2 * cell) + 1.0)
    g = dog_sign(a, cell, s1, s2, off)
    R = cell_sums(hp, cell)
    t = cells[:R.shape[0], :R.shape[1]]
    k = kcells[:R.shape[0], :R.shape[1]]
    zp = (t * R).sum() / np.sqrt((R * R).sum())
    def zb_of(gs):
        S = cell_sums(hp * gs, cell)
        return (t * k * S).sum() / (np.sqrt((S * S).sum()) + 1e-12)
    zb = zb_of(g)
    null = []
    for dy, dx in SHIFTS:
        if abs(dy) * cell * 3 > a.shape[0] or abs(dx) * cell * 3 > a.shape[1]:
            continue
        null.append(zb_of(np.roll(g, (dy * cell, dx * cell), axis=(0, 1))))
    null = np.array(null)
    zn = (zb - null.mean()) / (null.std() + 1e-9) if len(null) > 4 else float("nan")
    return zp, zb, zn

def attacks(a):
    h, w = a.shape
    out = {"written": a}
    out["jpeg50"] = jpeg(a, 50)
    out["jpeg30"] = jpeg(a, 30)
    m = a.mean()
    out["contrast1.2"] = jpeg(m + 1.2 * (a - m), 90)
    out["gamma0.8"] = jpeg(255 * (np.clip(a, 0, 255) / 255) ** 0.8, 90)
    out["noise5"] = jpeg(a + np.random.default_rng(1).normal(0, 5, a.shape), 75)
    out["blur1"] = jpeg(gaussian_filter(a, 1.0), 75)
    for side, q in ((1080, 72), (720, 60)):
        f = side / max(w, h)
        if f < 1:
            nw, nh = round(w * f), round(h * f)
            small = jpeg(resize(a, nw, nh), q)
            out[f"r{side}q{q}"] = resize(small, w, h)   # back to the cover's frame
    y0, x0 = h // 4, w // 4
    out["crop50"] = ("crop", y0, x0, jpeg(a[y0:y0 + h // 2, x0:x0 + w // 2], 90))
    return out

def main():
    covers = sys.argv[1].split(",")
    hosts = sys.argv[2].split(",")
    eps = float(sys.argv[3]); s1 = float(sys.argv[4]); s2 = float(sys.argv[5])
    rows = []
    for cpath in covers:
        name = os.path.splitext(os.path.basename(cpath))[0]
        C = luma(cpath)
        h, w = C.shape
        cell = cell_side(w, h)
        # An emulated layer 2: keyed +-1 cells of `cell` pixels, amplitude following texture
        # as jpgtool's defaults do (flat 0.4, slope 0.25 per level of fine-detail RMS, max 3).
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        cells = rng.choice([-1.0, 1.0], size=(h // cell + 1, w // cell + 1))
        T = np.kron(cells, np.ones((cell, cell)))[:h, :w]
        detail = C - gaussian_filter(C, 1.0)
        tex = np.sqrt(gaussian_filter(detail * detail, 2.0))
        size = min(1.5, max(1.0, np.sqrt(1.5e6 / (w * h))))
        amp = np.minimum(3.0, 0.4 + 0.25 * tex) * size
        kcells = rng.choice([-1.0, 1.0], size=cells.shape)
        K = np.kron(kcells, np.ones((cell, cell)))[:h, :w]
        P = T
        L1 = 0.0
        s = dog_sign(C, cell, s1, s2)
        for label, e in (("plain", 0.0), ("mod", eps)):
            Mp = jpeg(C + amp * T * (1 + e * K * s) / np.sqrt(1 + e * e), 90)
            ssim_proxy = 10 * np.log10(255 ** 2 / ((Mp - C) ** 2).mean())
            for att, val in attacks(Mp).items():
                if isinstance(val, tuple):
                    _, y0, x0, img = val
                    # a crop on a cell boundary (a verifier finds the lattice's phase)
                    cy, cx = -(-y0 // cell), -(-x0 // cell)
                    img = img[cy * cell - y0:, cx * cell - x0:]
                    zp, zb, zn = zs(img, cells[cy:, cx:], kcells[cy:, cx:], cell, s1, s2, (cy, cx))
                else:
                    zp, zb, zn = zs(val, cells, kcells, cell, s1, s2)
                rows.append(dict(cover=name, mark=label, test=att, z_plain=round(zp, 2), z_bind=round(zb, 2), z_norm=round(float(zn), 2), psnr=round(ssim_proxy, 2)))
            if label == "mod":
                residuals = {"blur1.5": Mp - gaussian_filter(Mp, 1.5), "median3": Mp - median_filter(Mp, 3)}
                for hpath in hosts:
                    hname = os.path.splitext(os.path.basename(hpath))[0]
                    if hname == name:
                        continue
                    H = resize(luma(hpath), w, h)
                    for (rname, res), g in [(r, g) for r in residuals.items() for g in (1, 2)]:
                        F = jpeg(H + g * res, 92)
                        zp, zb, zn = zs(F, cells, kcells, cell, s1, s2)
                        rows.append(dict(cover=name, mark="forgery", test=f"{hname} {rname} x{g}", z_plain=round(zp, 2), z_bind=round(zb, 2), z_norm=round(float(zn), 2), psnr=None))
        print(name, cell, file=sys.stderr)
    json.dump(rows, sys.stdout)

main()

"""jpgtool.recompress on files Pillow writes at known qualities with EXIF: files at or below the
target stay byte-identical, the others read back with the tables Pillow writes at the target,
come out smaller and keep their EXIF and sampling."""

import io
import math
import os

import pytest
from PIL import Image, ImageChops, ImageStat, JpegImagePlugin

import jpgtool
from conftest import pillow_jpeg

TARGET = 60


def exif_for(i: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "jpgtool tests"  # Make
    exif[0x0110] = f"held-out {i}"  # Model
    return exif.tobytes()


def tables(data: bytes):
    with Image.open(io.BytesIO(data)) as im:
        return im.quantization


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a, b)
    mse = sum(v * v for v in ImageStat.Stat(diff).rms) / 3
    return 10 * math.log10(255**2 / mse)


@pytest.fixture()
def held_out(photo, tmp_path):
    """Pillow files at known qualities, with EXIF, two samplings."""
    files = {}
    for i, q in enumerate([30, 50, 60, 61, 70, 85, 95]):
        crop = photo.crop((40 * i, 20 * i, 40 * i + 320, 20 * i + 240))
        subsampling = 0 if i % 2 else 2
        path = tmp_path / f"held-{q}.jpg"
        path.write_bytes(pillow_jpeg(crop, q, subsampling=subsampling, exif=exif_for(i)))
        files[path] = (q, subsampling, crop)
    return files


def test_in_place_keeps_low_files_and_recompresses_the_others(held_out):
    before = {p: (p.read_bytes(), os.stat(p)) for p in held_out}
    for path, (q, subsampling, crop) in held_out.items():
        report = jpgtool.recompress(path, quality=TARGET, in_place=True)
        data, st = before[path]
        after = path.read_bytes()
        assert report["input_bytes"] == len(data)
        if q <= TARGET:
            assert report["outcome"] == "skipped"
            assert report["method"] is None
            assert after == data
            # Not even rewritten.
            assert os.stat(path).st_ino == st.st_ino
            assert os.stat(path).st_mtime_ns == st.st_mtime_ns
            continue
        assert report["outcome"] == "recompressed", report
        assert report["old_quality"] == q
        assert report["new_quality"] == TARGET
        assert report["output_bytes"] == len(after) < len(data)
        # Reads back as TARGET: the tables Pillow (libjpeg) writes at that quality.
        assert tables(after) == tables(pillow_jpeg(crop, TARGET, subsampling=subsampling))
        with Image.open(io.BytesIO(after)) as im, Image.open(io.BytesIO(data)) as old:
            assert im.size == old.size
            assert JpegImagePlugin.get_sampling(im) == subsampling
            assert dict(im.getexif()) == dict(old.getexif())
            assert im.getexif()[0x010F] == "jpgtool tests"


def test_fidelity_is_that_of_saving_again_at_the_target(held_out):
    """Against the original's pixels, no more than 0.5 dB below Pillow's own save at TARGET."""
    for path, (q, subsampling, _) in held_out.items():
        if q <= TARGET:
            continue
        data = path.read_bytes()
        ours = jpgtool.recompress(data, quality=TARGET)
        original = decoded(data)
        pillows = pillow_jpeg(original, TARGET, subsampling=subsampling, optimize=True)
        assert psnr(decoded(ours), original) > psnr(decoded(pillows), original) - 0.5, path


def test_bytes_in_bytes_out(held_out):
    for path, (q, _, _) in held_out.items():
        data = path.read_bytes()
        out = jpgtool.recompress(data, quality=TARGET)
        if q <= TARGET:
            assert out == data
        else:
            assert len(out) < len(data)
            assert jpgtool.recompress(path, quality=TARGET) == out  # path or bytes, same file


def test_dst_gets_the_resulting_file(held_out, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for path, (q, _, _) in held_out.items():
        dst = out_dir / path.name
        report = jpgtool.recompress(path, dst, quality=TARGET)
        assert report["output_bytes"] == dst.stat().st_size
        if q <= TARGET:
            assert dst.read_bytes() == path.read_bytes()
        else:
            assert dst.read_bytes() == jpgtool.recompress(path, quality=TARGET)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(p.name for p in held_out)


def test_argument_and_input_errors(held_out, corpus, tmp_path):
    path = next(iter(held_out))
    data = path.read_bytes()
    with pytest.raises(ValueError, match="is the input file"):
        jpgtool.recompress(path, path, quality=TARGET)
    with pytest.raises(ValueError, match="in_place"):
        jpgtool.recompress(data, quality=TARGET, in_place=True)
    with pytest.raises(ValueError, match="in_place"):
        jpgtool.recompress(path, tmp_path / "x.jpg", quality=TARGET, in_place=True)
    with pytest.raises(ValueError, match="quality"):
        jpgtool.recompress(path, quality=0)
    with pytest.raises(TypeError):
        jpgtool.recompress(path)  # quality is required
    with pytest.raises(jpgtool.JpegError, match="<bytes>: not a JPEG"):
        jpgtool.recompress(b"\x89PNG\r\n\x1a\n" + bytes(64), quality=TARGET)
    with pytest.raises(FileNotFoundError):
        jpgtool.recompress(tmp_path / "missing.jpg", quality=TARGET)
    assert path.read_bytes() == data


def test_every_bad_corpus_file_raises_jpeg_error_or_is_not_larger(corpus, tmp_path):
    import warnings

    for path in sorted((corpus / "bad").iterdir()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = jpgtool.recompress(path, quality=TARGET)
        except jpgtool.JpegError as err:
            assert str(err).startswith(f"{path}: ")
        else:
            assert len(out) <= path.stat().st_size

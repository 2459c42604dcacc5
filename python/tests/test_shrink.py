"""jpgtool.shrink: sizes by libjpeg's formula, tables as Pillow writes them at the same quality,
pixels close to Pillow's own box reduction, atomic outputs that never replace the input."""

import io
import math
import threading
import time
import warnings

import pytest
from PIL import Image, ImageChops, ImageStat

import jpgtool
from conftest import pillow_jpeg


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(v * v for v in ImageStat.Stat(diff).rms) / 3
    return 10 * math.log10(255**2 / mse) if mse else math.inf


@pytest.mark.parametrize("m", range(1, 9))
def test_scale_m_over_8_has_libjpegs_size(photo, m):
    src = pillow_jpeg(photo, 85)
    out = jpgtool.shrink(src, scale=m / 8)
    w, h = photo.size
    # libjpeg's scaled output size (jdmaster.c): jdiv_round_up(W * M, 8).
    assert decode(out).size == (math.ceil(w * m / 8), math.ceil(h * m / 8))


def test_default_is_half_at_the_sources_quality(photo):
    src = pillow_jpeg(photo, 70)
    out = jpgtool.shrink(src)
    small = decode(out)
    assert small.size == (320, 240)
    # The output's tables are those Pillow writes at 70: the source's quality is kept.
    assert small.quantization == decode(src).quantization


def test_given_quality_gives_pillows_tables_for_it(photo):
    out = jpgtool.shrink(pillow_jpeg(photo, 95), scale=0.25, quality=50)
    assert decode(out).quantization == decode(pillow_jpeg(photo, 50)).quantization


def test_pixels_match_pillows_box_reduction(photo):
    src = pillow_jpeg(photo, 95, subsampling=0)
    for scale, factor in [(0.5, 2), (0.25, 4), (0.125, 8)]:
        ours = decode(jpgtool.shrink(src, scale=scale, quality=95))
        reference = decode(src).reduce(factor)
        assert ours.size == reference.size
        assert psnr(ours, reference) > 30, scale


def test_width_height_and_box(photo):
    src = pillow_jpeg(photo, 80)
    assert decode(jpgtool.shrink(src, width=200)).size == (200, 150)
    assert decode(jpgtool.shrink(src, height=120)).size == (160, 120)
    # Fit inside 100x100 with the aspect ratio kept.
    assert decode(jpgtool.shrink(src, width=100, height=100)).size == (100, 75)
    ours = decode(jpgtool.shrink(src, width=300, quality=95))
    reference = decode(src).resize((300, 225), Image.Resampling.BOX)
    assert psnr(ours, reference) > 30


def test_dst_is_written_atomically_and_equals_the_bytes(photo, tmp_path):
    src = tmp_path / "in.jpg"
    src.write_bytes(pillow_jpeg(photo, 80))
    dst = tmp_path / "out.jpg"
    assert jpgtool.shrink(src, dst, scale=0.25) is None
    assert dst.read_bytes() == jpgtool.shrink(src, scale=0.25)
    # An existing output is replaced.
    jpgtool.shrink(src, dst, scale=0.125)
    assert decode(dst.read_bytes()).size == (80, 60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "out.jpg"]


def test_never_replaces_its_input(photo, tmp_path):
    src = tmp_path / "in.jpg"
    data = pillow_jpeg(photo, 80)
    src.write_bytes(data)
    with pytest.raises(ValueError, match="is the input file"):
        jpgtool.shrink(src, src)
    link = tmp_path / "link.jpg"
    link.symlink_to(src)
    with pytest.raises(ValueError, match="is the input file"):
        jpgtool.shrink(src, link)
    assert src.read_bytes() == data


def test_a_failure_leaves_no_output_and_no_temporary_file(corpus, tmp_path, photo):
    dst = tmp_path / "out.jpg"
    with pytest.raises(jpgtool.JpegError, match="<bytes>: "):
        jpgtool.shrink(pillow_jpeg(photo, 80)[:300], dst)
    with pytest.raises(jpgtool.JpegError, match="not a JPEG"):
        jpgtool.shrink(b"GIF89a" + bytes(100), dst)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        jpgtool.shrink(pillow_jpeg(photo, 80), tmp_path / "no" / "such" / "dir.jpg")


def test_every_bad_corpus_file_raises_jpeg_error_or_shrinks(corpus, tmp_path):
    raised = 0
    for path in sorted((corpus / "bad").iterdir()):
        dst = tmp_path / path.name
        try:
            # Damaged data the decoder works around gives UserWarnings (tested below).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                jpgtool.shrink(path, dst, scale=0.5)
        except jpgtool.JpegError as err:
            raised += 1
            assert str(err).startswith(f"{path}: ")
            assert not dst.exists()
        else:
            decode(dst.read_bytes())  # what was written is a whole JPEG
    assert raised > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".jpgtool-")]


def test_damaged_data_warns(photo):
    data = bytearray(pillow_jpeg(photo, 85))
    cut = data[: len(data) * 2 // 3]  # the scan stops two thirds of the way down
    with pytest.warns(UserWarning, match="<bytes>: .*the data is damaged"):
        out = jpgtool.shrink(bytes(cut), scale=0.5)
    assert decode(out).size == (320, 240)


def test_bad_arguments(photo):
    src = pillow_jpeg(photo, 80)
    for kwargs in [
        {"scale": 0.3},
        {"scale": 0},
        {"scale": 2},
        {"scale": 0.5, "width": 10},
        {"quality": 0},
        {"quality": 101},
        {"width": 0},
    ]:
        with pytest.raises(ValueError):
            jpgtool.shrink(src, **kwargs)


def test_the_gil_is_released(corpus):
    """While one thread shrinks a 2 MP photo, another Python thread keeps running."""
    src = (corpus / "real" / "mde-Canon_EOS_D60.jpg").read_bytes()
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.05)
        start_ticks = ticks
        start = time.perf_counter()
        calls = 0
        # Enough calls for the measurement to mean something in a release build too.
        while calls < 3 or (time.perf_counter() - start < 0.3 and calls < 300):
            jpgtool.shrink(src, width=1000)
            calls += 1
        elapsed = time.perf_counter() - start
        during = ticks - start_ticks
    finally:
        done.set()
        counter.join()
    # With the GIL held through each call the counter could tick at most about once between
    # calls (when the interpreter hands the GIL over); released, it ticks about once a millisecond.
    assert elapsed > 0.05, (calls, elapsed)
    assert during > 2 * calls + 10, (during, calls, elapsed)

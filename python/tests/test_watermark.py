"""jpgtool.mark and jpgtool.verify: the payload put in comes back out, under that key only."""

import io
import math

import pytest
from PIL import Image, ImageChops, ImageStat

import jpgtool
from conftest import pillow_jpeg

# 32 bytes that are not text: a raw key, used without Argon2 stretching.
KEY = bytes(((i * 151) & 0xFF) ^ 0x5C for i in range(32))
OTHER_KEY = bytes(reversed(KEY))
PAYLOAD = b"(c) 2026 Jane Doe"


@pytest.fixture(scope="module")
def cover(corpus) -> bytes:
    """A 2 MP camera photo."""
    return (corpus / "real" / "mde-Canon_EOS_D60.jpg").read_bytes()


@pytest.fixture(scope="module")
def marked(cover) -> bytes:
    return jpgtool.mark(cover, key=KEY, payload=PAYLOAD)


def luma_psnr(a: bytes, b: bytes) -> float:
    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        diff = ImageChops.difference(x.convert("L"), y.convert("L"))
    mse = ImageStat.Stat(diff).rms[0] ** 2
    return 10 * math.log10(255**2 / mse)


def test_mark_keeps_the_image(cover, marked):
    with Image.open(io.BytesIO(cover)) as a, Image.open(io.BytesIO(marked)) as b:
        assert a.size == b.size
    assert luma_psnr(cover, marked) > 35


def test_blind_verify_reads_the_payload_back(marked):
    result = jpgtool.verify(marked, key=KEY)
    assert result["verdict"] == "found"
    assert result["payload"] == PAYLOAD.ljust(32, b"\0")
    assert result["match"] is None
    # The content term's score, share and coverage come with a payload read back, and only
    # then; on the image the mark was made on the share is about 1, and a photo's structure
    # gives content signs over most of the pattern.
    assert isinstance(result["content_score"], float)
    assert result["content_share"] > 0.8
    assert result["content_coverage"] > 0.5
    # One mark's data cells carry the pilots' amplitude, far above the half of two payloads.
    assert result["one_payload_z"] > 3.0


def test_claimed_payload_matches(marked):
    result = jpgtool.verify(marked, key=KEY, payload=PAYLOAD)
    assert result["verdict"] == "match"
    assert result["match"] is True
    assert result["layer"] in ("pattern", "histogram")
    other = jpgtool.verify(marked, key=KEY, payload=b"someone else")
    assert other["verdict"] == "no_match"
    assert other["match"] is False


def test_other_key_or_unmarked_image_finds_nothing(cover, marked):
    assert jpgtool.verify(marked, key=OTHER_KEY)["verdict"] == "not_found"
    assert jpgtool.verify(cover, key=KEY)["verdict"] == "not_found"
    assert jpgtool.verify(cover, key=KEY)["content_score"] is None
    assert jpgtool.verify(cover, key=KEY)["content_share"] is None
    assert jpgtool.verify(cover, key=KEY)["content_coverage"] is None
    assert jpgtool.verify(cover, key=KEY, payload=PAYLOAD)["verdict"] == "no_match"


def test_mark_to_a_file_then_verify_the_file(cover, tmp_path):
    src = tmp_path / "photo.jpg"
    src.write_bytes(cover)
    dst = tmp_path / "marked.jpg"
    assert jpgtool.mark(src, dst, key=KEY, payload=b"x") is None
    assert jpgtool.verify(dst, key=KEY)["payload"] == b"x".ljust(32, b"\0")
    assert src.read_bytes() == cover
    with pytest.raises(ValueError, match="is the input file"):
        jpgtool.mark(src, src, key=KEY, payload=b"x")


def test_refusals_raise_jpeg_error(marked, photo):
    with pytest.raises(jpgtool.JpegError, match="<bytes>: already marked under this key"):
        jpgtool.mark(marked, key=KEY, payload=b"again")
    flat = Image.new("RGB", (64, 64), (128, 128, 128))
    with pytest.raises(jpgtool.JpegError, match="<bytes>: cannot mark this image"):
        jpgtool.mark(pillow_jpeg(flat, 90), key=KEY, payload=b"x")
    with pytest.raises(jpgtool.JpegError, match="not a JPEG"):
        jpgtool.verify(b"not a jpeg", key=KEY)


def test_bad_arguments(marked):
    with pytest.raises(ValueError, match="at most 32"):
        jpgtool.mark(marked, key=KEY, payload=bytes(33))
    with pytest.raises(ValueError, match="empty"):
        jpgtool.verify(marked, key=b"")
    with pytest.warns(UserWarning, match="short passphrases"):
        assert jpgtool.verify(marked, key=b"short")["verdict"] == "not_found"
    with pytest.raises(TypeError):
        jpgtool.verify(marked, key="a str is not bytes")

"""Shared fixtures: the repository's corpus, and JPEGs that Pillow writes at known settings
(the independent expectations: Pillow's libjpeg uses the IJG tables scaled for `quality`)."""

import io
import pathlib

import pytest
from PIL import Image

REPO = pathlib.Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def corpus() -> pathlib.Path:
    assert (CORPUS / "real").is_dir(), f"the repository's corpus is missing at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def photo(corpus) -> Image.Image:
    """A natural 640x480 camera photo, decoded once."""
    with Image.open(corpus / "real" / "mde-Canon_IXUS.jpg") as im:
        return im.convert("RGB")


def pillow_jpeg(image: Image.Image, quality: int, subsampling: int = 2, **kw) -> bytes:
    """`image` as Pillow writes it at `quality` (IJG tables; subsampling 0 = 4:4:4, 2 = 4:2:0)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, subsampling=subsampling, **kw)
    return out.getvalue()

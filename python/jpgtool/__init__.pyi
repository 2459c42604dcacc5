"""Type stubs for the jpgtool package (the compiled module jpgtool._jpgtool)."""

import os
from typing import Any, Dict, List, Literal, Optional, Sequence, TypedDict, Union, overload

__version__: str

Source = Union[str, "os.PathLike[str]", bytes, bytearray]
"""A JPEG to read: a path, or the file's bytes."""

class JpegError(ValueError):
    """The data is not a JPEG jpgtool can work on (malformed, truncated, unsupported, over a
    limit, refused by the codec, or unable to carry a watermark). The message names the file
    (``<bytes>`` for data in memory) and the problem."""

def quality(
    src: Source,
    *,
    bpp: bool = True,
    history: Optional[bool] = None,
    native: bool = False,
    margin: float = 5.0,
) -> Dict[str, Any]:
    """The quality of one JPEG from its quantization tables, with its header facts: a dict with
    the fields of ``jpgtool quality --json`` (``quality``, ``family``, ``confidence``,
    ``decision_quality``, ``width``, ``height``, ``subsampling``, ``bpp``, ...).

    ``bpp=False`` reads the headers only. ``native`` and ``margin`` set ``decision_quality`` as
    the CLI's ``--native`` and ``--margin`` do. With ``history=True`` (default: as ``bpp``) the
    dict also has the ``primary_*`` fields (the earlier quality of a re-saved file, None when
    none is seen); that analysis decodes every block.
    Raises JpegError for data that is not a readable
    JPEG, OSError when the file cannot be read."""

def quality_many(
    paths: Sequence[Union[str, "os.PathLike[str]"]],
    threads: Optional[int] = None,
    *,
    bpp: bool = True,
    history: bool = False,
    native: bool = False,
    margin: float = 5.0,
) -> List[Dict[str, Any]]:
    """``quality`` for many files in parallel (``threads`` default: one per core, the calling
    thread included), in the order of ``paths``: each entry is the dict ``quality`` gives for
    that file. ``history`` is off by default here (the analysis decodes every file);
    ``bpp=False`` reads the headers only. A file that cannot be read gets
    ``{"path", "ok": False, "error"}`` instead of stopping the others; readable files have
    ``"ok": True``. ``paths`` is a sequence of paths, not one path (``TypeError``)."""

@overload
def shrink(
    src: Source,
    dst: None = None,
    *,
    scale: Optional[float] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    quality: Optional[int] = None,
) -> bytes: ...
@overload
def shrink(
    src: Source,
    dst: Union[str, "os.PathLike[str]"],
    *,
    scale: Optional[float] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    quality: Optional[int] = None,
) -> None:
    """Downscales a JPEG in the DCT domain. ``scale`` is M/8 (0.5, 0.25, 0.125, 0.375, ...);
    ``width`` and/or ``height`` give a size instead; default scale 0.5. ``quality`` (1..100)
    defaults to the source's own. Returns the JPEG as bytes when ``dst`` is None, else writes
    ``dst`` atomically (never the input) and returns None."""

class RecompressReport(TypedDict):
    outcome: Literal["skipped", "recompressed", "kept-original"]
    reason: str
    input_bytes: int
    output_bytes: int
    old_quality: Optional[float]
    new_quality: int
    method: Optional[Literal["pixels", "coefficients"]]

@overload
def recompress(
    src: Source, dst: None = None, *, quality: int, in_place: Literal[False] = False
) -> bytes: ...
@overload
def recompress(
    src: Source, dst: Union[str, "os.PathLike[str]"], *, quality: int, in_place: bool = False
) -> RecompressReport: ...
@overload
def recompress(
    src: Union[str, "os.PathLike[str]"], dst: None = None, *, quality: int, in_place: Literal[True]
) -> RecompressReport:
    """Re-encodes at IJG ``quality`` unless the decision quality is already at or below it;
    never a larger file. Bytes of the resulting file when ``dst`` is None (the input's own when
    skipped or not smaller); with ``dst`` or ``in_place=True`` writes atomically and returns a
    report (``outcome``: skipped, recompressed or kept-original)."""

@overload
def mark(src: Source, dst: None = None, *, key: bytes, payload: bytes) -> bytes: ...
@overload
def mark(
    src: Source, dst: Union[str, "os.PathLike[str]"], *, key: bytes, payload: bytes
) -> None:
    """Hides ``payload`` (at most 32 bytes, zero-padded) under ``key`` (32 random bytes, or a
    passphrase stretched by Argon2id). Returns the marked JPEG as bytes when ``dst`` is None,
    else writes ``dst`` atomically and returns None."""

class VerifyResult(TypedDict):
    verdict: Literal[
        "match", "no_match", "found", "not_found", "unreadable", "unbound", "several_payloads"
    ]
    payload: Optional[bytes]
    match: Optional[bool]
    layer: Optional[Literal["pattern", "histogram"]]
    pilot_score: Optional[float]
    score: Optional[float]
    threshold: Optional[float]

def verify(src: Source, *, key: bytes, payload: Optional[bytes] = None) -> VerifyResult:
    """Tests whether a JPEG carries ``payload`` under ``key``, or with ``payload`` None reads
    it back blind (``payload`` in the result: the 32 zero-padded bytes found, or None)."""

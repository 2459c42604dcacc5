"""JPEG quality, downscaling and watermarking in the JPEG domain.

A thin Python layer over the jpgtool Rust library: every call releases the GIL while it reads,
decodes, encodes or writes, so threads (and Dask's threaded scheduler) run calls in parallel.

>>> import jpgtool
>>> info = jpgtool.quality("photo.jpg")            # doctest: +SKIP
>>> info["quality"], info["family"]                # doctest: +SKIP
(75.0, 'ijg')

Errors about the data raise :class:`JpegError` (a ``ValueError``) naming the file; errors of
the operating system (a missing file, a full disk) raise ``OSError`` as ``open`` does.
"""

from ._jpgtool import (
    JpegError,
    __version__,
    mark,
    quality,
    quality_many,
    recompress,
    shrink,
    verify,
)

__all__ = [
    "JpegError",
    "__version__",
    "mark",
    "quality",
    "quality_many",
    "recompress",
    "shrink",
    "verify",
]

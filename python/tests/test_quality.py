"""jpgtool.quality and jpgtool.quality_many against files Pillow writes at known qualities."""

import os
import re
import shutil

import pytest
from PIL import Image

import jpgtool
from conftest import REPO, pillow_jpeg


@pytest.mark.parametrize("q", [10, 35, 50, 60, 75, 90, 95, 100])
def test_reads_back_the_quality_pillow_wrote(photo, q, tmp_path):
    path = tmp_path / f"q{q}.jpg"
    path.write_bytes(pillow_jpeg(photo, q))
    info = jpgtool.quality(path)
    assert info["ok"] is True
    assert info["family"] == "ijg"
    assert info["confidence"] == "exact"
    # Neighbouring qualities can give identical tables; the range holds the one Pillow used.
    lo, hi = info["quality_range"]
    assert lo <= q <= hi
    assert info["quality"] == lo
    assert info["decision_quality"] == pytest.approx(lo)
    assert (info["width"], info["height"]) == photo.size
    assert info["subsampling"] == "4:2:0"
    assert info["components"] == 3
    assert info["path"] == str(path)
    size = os.path.getsize(path)
    assert info["file_bytes"] == size
    assert info["bpp_file"] == pytest.approx(8 * size / (640 * 480), abs=0.0005)
    assert 0 < info["coded_bytes"] < size
    assert info["eoi"] is True


def test_reads_sampling_and_progressive_as_pillow_wrote_them(photo, tmp_path):
    path = tmp_path / "p.jpg"
    path.write_bytes(pillow_jpeg(photo, 80, subsampling=0, progressive=True))
    info = jpgtool.quality(str(path))
    assert info["subsampling"] == "4:4:4"
    assert info["frame"] == "progressive"
    assert info["scans"] > 1
    assert info["quality"] == 80


def test_grey_file(photo, tmp_path):
    path = tmp_path / "grey.jpg"
    path.write_bytes(pillow_jpeg(photo.convert("L"), 42))
    info = jpgtool.quality(path)
    assert info["quality"] == 42
    assert info["components"] == 1
    assert info["color_space"] == "gray"


def test_bytes_give_the_same_answer_as_the_path(corpus):
    path = corpus / "real" / "imagemagick-wizard.jpg"
    from_path = jpgtool.quality(path)
    from_bytes = jpgtool.quality(path.read_bytes())
    assert from_bytes.pop("path") == "<bytes>"
    from_path.pop("path")
    assert from_bytes == from_path
    assert jpgtool.quality(bytearray(path.read_bytes()))["quality"] == from_path["quality"]


def test_headers_only(corpus):
    info = jpgtool.quality(corpus / "sample-q75.jpg", bpp=False)
    assert info["quality"] == 75  # the file's name says how it was written
    assert info["bpp"] is None and info["coded_bytes"] is None and info["eoi"] is None


def test_fields_are_those_the_readme_documents(corpus):
    """The dict has exactly the fields README.md lists for `quality --json` (less `error`,
    only on failures, and `selected`, only with --max-quality)."""
    readme = (REPO / "README.md").read_text()
    table = readme.split("`quality --json`:", 1)[1].split("`shrink --json`", 1)[0]
    documented = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            documented |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    documented -= {"error", "selected"}
    info = jpgtool.quality(corpus / "sample-q75.jpg")
    assert set(info) == documented


def test_decision_quality_options(photo, tmp_path):
    path = tmp_path / "q70.jpg"
    path.write_bytes(pillow_jpeg(photo, 70))
    # IJG tables are known: the margin for unknown tables does not apply.
    assert jpgtool.quality(path, margin=20.0)["decision_quality"] == 70


def test_quality_many_keeps_input_order_and_reports_failures(photo, tmp_path, corpus):
    qualities = [91, 12, 55, 77, 33, 64, 100, 5] * 4
    paths = []
    for i, q in enumerate(qualities):
        p = tmp_path / f"{i:02}.jpg"
        p.write_bytes(pillow_jpeg(photo.resize((64, 48)), q))
        paths.append(str(p))
    bad = str(corpus / "bad" / "jpeg-decoder-afl-id_000006.jpg")
    missing = str(tmp_path / "missing.jpg")
    rows = jpgtool.quality_many(paths + [bad, missing], threads=3)
    assert [r["path"] for r in rows] == paths + [bad, missing]
    for row, q in zip(rows, qualities):
        assert row["ok"] is True
        lo, hi = row["quality_range"]
        assert lo <= q <= hi
    assert rows[-1]["ok"] is False
    assert rows[-1]["error"].startswith(missing + ": ")
    assert "No such file" in rows[-1]["error"]
    # Each entry is what quality() gives for that file (without the history analysis, off by
    # default for many files), whatever the thread count.
    assert rows[: len(paths)] == [jpgtool.quality(p, history=False) for p in paths]
    assert jpgtool.quality_many(paths) == rows[: len(paths)]
    assert jpgtool.quality_many([]) == []
    with pytest.raises(ValueError):
        jpgtool.quality_many(paths, threads=0)


def test_history_fields_only_when_asked(photo, tmp_path):
    path = tmp_path / "q80.jpg"
    path.write_bytes(pillow_jpeg(photo, 80))
    single = jpgtool.quality(path)  # history follows bpp: the CLI's default report
    assert "primary_quality" in single
    assert "primary_quality" not in jpgtool.quality(path, history=False)
    assert "primary_quality" not in jpgtool.quality(path, bpp=False)
    (many,) = jpgtool.quality_many([path])
    assert "primary_quality" not in many
    assert many["bpp"] == single["bpp"]
    (analysed,) = jpgtool.quality_many([path], history=True)
    assert analysed == single
    (headers,) = jpgtool.quality_many([path], bpp=False)
    assert headers["bpp"] is None and headers["quality"] == single["quality"]


def test_quality_many_bad_corpus_entries_name_the_file(corpus):
    bad = sorted(str(p) for p in (corpus / "bad").iterdir())
    rows = jpgtool.quality_many(bad)
    assert len(rows) == len(bad)
    failed = [r for r in rows if not r["ok"]]
    assert failed, "the bad corpus holds files whose headers cannot be read"
    for row in failed:
        assert row["error"].startswith(row["path"] + ": ")


def test_every_bad_corpus_file_raises_jpeg_error_or_answers(corpus):
    raised = 0
    for path in sorted((corpus / "bad").iterdir()):
        try:
            info = jpgtool.quality(path)
        except jpgtool.JpegError as err:
            raised += 1
            assert str(err).startswith(f"{path}: ")
        else:
            assert info["ok"] is True
    assert raised > 0


def test_not_a_jpeg(tmp_path, photo):
    png = tmp_path / "image.jpg"
    photo.save(png, "PNG")
    with pytest.raises(jpgtool.JpegError, match=r"image\.jpg: not a JPEG file: PNG"):
        jpgtool.quality(png)
    with pytest.raises(jpgtool.JpegError, match="<bytes>: not a JPEG"):
        jpgtool.quality(b"hello world")
    with pytest.raises(jpgtool.JpegError, match="<bytes>: "):
        jpgtool.quality(b"")
    assert issubclass(jpgtool.JpegError, ValueError)


def test_truncated_header(photo):
    data = pillow_jpeg(photo, 80)
    with pytest.raises(jpgtool.JpegError, match="<bytes>: file ends early"):
        jpgtool.quality(data[:100])


def test_os_errors_are_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        jpgtool.quality(tmp_path / "nope.jpg")
    assert err.value.filename == str(tmp_path / "nope.jpg")
    with pytest.raises(IsADirectoryError):
        jpgtool.quality(tmp_path)
    with pytest.raises(TypeError):
        jpgtool.quality(42)


def test_pathlike_and_copies(corpus, tmp_path):
    src = corpus / "sample-photoshop.jpg"
    copy = tmp_path / "copy.jpg"
    shutil.copy(src, copy)
    a, b = jpgtool.quality(src), jpgtool.quality(os.fspath(copy))
    a.pop("path"), b.pop("path")
    assert a == b
    assert a["family"] == "photoshop"
    with Image.open(src) as im:
        assert (a["width"], a["height"]) == im.size


def test_quality_many_equals_quality_across_chunks_threads_and_path_kinds(photo, tmp_path, corpus):
    """quality_many hands files out in chunks to worker threads while the calling thread makes
    the dicts: every entry must still be quality()'s dict for that file (same keys in the same
    order, same values and types), whatever the thread count, for str, pathlib and non-ASCII
    names, repeated files, and failures in between."""
    sizes = [(64, 48), (48, 64), (80, 80)]
    paths = []
    for i in range(70):
        name = f"{i:03}-ü.jpg" if i % 7 == 0 else f"{i:03}.jpg"
        p = tmp_path / name
        kw = {"subsampling": 0} if i % 3 else {"progressive": True}
        p.write_bytes(pillow_jpeg(photo.resize(sizes[i % 3]), 5 + i, **kw))
        paths.append(p if i % 2 else str(p))
    paths += [str(corpus / "sample-photoshop.jpg"), str(tmp_path / "missing.jpg"), paths[3]]
    expected = []
    for p in paths:
        try:
            expected.append(list(jpgtool.quality(p, history=False).items()))
        except OSError:
            expected.append(None)
    for threads in (1, 2, 5, None):
        for row, want, p in zip(jpgtool.quality_many(paths, threads=threads), expected, paths):
            if want is None:
                assert list(row) == ["error", "ok", "path"] and row["ok"] is False
                continue
            assert list(row.items()) == want
            # Same types too (an int where the CLI's JSON has an int, a float for a float).
            assert [type(v) for _, v in row.items()] == [type(v) for _, v in want]
            assert row["path"] == str(p)
    # The lists are each dict's own: changing one changes no other.
    rows = jpgtool.quality_many(paths[:3])
    rows[0]["quality_range"].append(0)
    assert rows[1]["quality_range"] == dict(expected[1])["quality_range"]


def test_quality_many_refuses_a_single_path():
    with pytest.raises(TypeError, match="sequence of paths"):
        jpgtool.quality_many("photo.jpg")
    with pytest.raises(TypeError):
        jpgtool.quality_many([42])


def test_concurrent_calls_from_python_threads_agree(photo, tmp_path):
    """Calls running at once in several Python threads (each releases the GIL while it reads)
    give the same dicts as one call alone."""
    import threading

    paths = []
    for i in range(40):
        p = tmp_path / f"{i:02}.jpg"
        p.write_bytes(pillow_jpeg(photo.resize((48, 32)), 20 + i))
        paths.append(str(p))
    alone = jpgtool.quality_many(paths, bpp=False)
    singles = [jpgtool.quality(p, bpp=False) for p in paths]
    assert alone == singles
    results, errors = [], []

    def run(i):
        try:
            for _ in range(5):
                if i % 2:
                    results.append(jpgtool.quality_many(paths, threads=2, bpp=False))
                else:
                    results.append([jpgtool.quality(p, bpp=False) for p in paths])
        except Exception as err:  # reported below: a thread's exception is otherwise lost
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 20
    assert all(r == alone for r in results)

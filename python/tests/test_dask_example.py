"""examples/dask_quality.py on Dask's local schedulers, over a small tree of files Pillow wrote
at known qualities."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, pillow_jpeg

pytest.importorskip("dask.bag")

SCRIPT = REPO / "examples" / "dask_quality.py"
TARGET = 60


@pytest.fixture()
def tree(tmp_path, photo, corpus):
    """nested folders of JPEGs written at known qualities, one bad file and one non-JPEG name."""
    small = photo.resize((96, 72))
    written = {}
    for i, q in enumerate([20, 45, 60, 61, 75, 90, 30, 85]):
        folder = tmp_path / "archive" / ("a" if i % 2 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"photo{i}.JPG"
        path.write_bytes(pillow_jpeg(small, q))
        written[str(path)] = q
    bad = tmp_path / "archive" / "a" / "broken.jpeg"
    shutil.copy(corpus / "bad" / "jpeg-decoder-afl-id_000006.jpg", bad)
    (tmp_path / "archive" / "notes.txt").write_text("not an image")
    return tmp_path / "archive", written, str(bad)


@pytest.mark.parametrize("scheduler", ["threads", "synchronous"])
def test_summary_matches_the_qualities_written(tree, tmp_path, scheduler):
    root, written, bad = tree
    out = tmp_path / "summary.jsonl"
    listing = tmp_path / "recompress.txt"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(root), "--target", str(TARGET), "--out", str(out),
         "--to-recompress", str(listing), "--scheduler", scheduler, "--partition-size", "3"],
        capture_output=True, text=True,
    )
    assert run.returncode == 1, run.stderr  # one file could not be read
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    rows, summary = lines[:-1], lines[-1]["summary"]
    assert sorted(r["path"] for r in rows) == sorted(list(written) + [bad])
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)  # walk order, sorted
    for row in rows:
        if row["path"] == bad:
            assert row["ok"] is False and row["recompress"] is False
            assert row["error"].startswith(bad + ": ")
            continue
        q = written[row["path"]]
        assert row["ok"] is True
        assert row["family"] == "ijg"
        assert row["quality"] == q
        assert row["recompress"] == (q > TARGET)
    expected = sorted(p for p, q in written.items() if q > TARGET)
    assert sorted(listing.read_text().splitlines()) == expected
    assert summary["files"] == len(written) + 1
    assert summary["failed"] == 1
    assert summary["recompress"] == len(expected)
    assert summary["recompress_bytes"] == sum(
        (root / p).stat().st_size for p in expected
    )


def test_a_list_of_paths(tree, tmp_path):
    root, written, _ = tree
    chosen = sorted(written)[:3]
    listing = tmp_path / "paths.txt"
    listing.write_text("\n".join(chosen) + "\n")
    out = tmp_path / "s.jsonl"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--paths-from", str(listing), "--out", str(out)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()][:-1]
    assert [r["path"] for r in rows] == chosen
    assert [r["quality"] for r in rows] == [written[p] for p in chosen]


def test_parquet_summary_holds_the_same_rows(tree, tmp_path):
    """--out *.parquet: the rows of the JSON lines summary, the totals in the metadata."""
    pq = pytest.importorskip("pyarrow.parquet")
    root, _, _ = tree
    jsonl, parquet = tmp_path / "s.jsonl", tmp_path / "s.parquet"
    for out in (jsonl, parquet):
        run = subprocess.run(
            [sys.executable, str(SCRIPT), str(root), "--out", str(out), "--scheduler",
             "synchronous"],
            capture_output=True, text=True,
        )
        assert run.returncode == 1, run.stderr  # the bad file
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    table = pq.read_table(parquet)
    rows = table.to_pylist()
    assert len(rows) == len(lines) - 1
    for got, want in zip(rows, lines[:-1]):
        assert {k: v for k, v in got.items() if v is not None} == {
            k: v for k, v in want.items() if v is not None
        }
    summary = json.loads(table.schema.metadata[b"jpgtool_summary"])
    assert summary == lines[-1]["summary"]

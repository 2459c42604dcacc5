#!/usr/bin/env python3
"""Survey the JPEG quality of a whole archive with Dask, and list the files worth recompressing.

A Dask bag over the paths (folders are walked recursively for *.jpg / *.jpeg; a file given with
--paths-from holds one path per line) calls ``jpgtool.quality`` on each file, headers only by
default. The result is one summary in JSON lines, in input order: one object per file with
``path``, ``ok``, ``quality``, ``decision_quality``, ``family``, ``confidence``, ``width``,
``height``, ``file_bytes`` and ``recompress`` (true when the decision quality is above
--target), or ``ok: false`` and ``error`` for a file that cannot be read. A last line
``{"summary": {...}}`` gives the totals. An --out name ending in ``.parquet`` (or
--format parquet) writes the same rows as a Parquet table instead (needs pyarrow), with the
totals as JSON in the file's key-value metadata under ``jpgtool_summary``. With --to-recompress, the paths to recompress are also
written one per line (NUL-separated with -0), ready for ``xargs``. The exit status is 1 when
a file could not be read (it is in the summary all the same), else 0.

On one machine (Dask's threaded scheduler; jpgtool releases the GIL, so threads run in
parallel):

    python examples/dask_quality.py --target 60 --out summary.jsonl photos/

On a dask.distributed cluster (every worker needs ``pip install ./python`` and the same view of
the files, e.g. a shared mount):

    python examples/dask_quality.py --scheduler tcp://scheduler:8786 --target 60 \\
        --out summary.jsonl /mnt/archive/

which is ``Client("tcp://scheduler:8786")`` before ``bag.compute()``. The summary comes back to
the client (about 300 bytes per file) and is written there.
"""

import argparse
import json
import os
import sys

import dask
import dask.bag as db

import jpgtool

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def list_paths(operands, paths_from=None):
    """Files as given, folders walked recursively (sorted, so the order is reproducible)."""
    found = []
    if paths_from:
        with open(paths_from, encoding="utf-8") as f:
            operands = list(operands) + [line.rstrip("\n") for line in f if line.strip()]
    for operand in operands:
        if os.path.isdir(operand):
            for root, dirs, files in os.walk(operand):
                dirs.sort()
                found.extend(
                    os.path.join(root, name)
                    for name in sorted(files)
                    if name.lower().endswith(JPEG_SUFFIXES)
                )
        else:
            found.append(operand)
    return found


def survey(path, target, bpp=False):
    """One summary row; a file that cannot be read is a row too, not a failed job."""
    try:
        info = jpgtool.quality(path, bpp=bpp, history=False)
    except (jpgtool.JpegError, OSError) as err:
        return {"path": path, "ok": False, "error": str(err), "recompress": False}
    decision = info["decision_quality"]
    return {
        "path": path,
        "ok": True,
        "quality": info["quality"],
        "decision_quality": decision,
        "family": info["family"],
        "confidence": info["confidence"],
        "width": info["width"],
        "height": info["height"],
        "file_bytes": info["file_bytes"],
        "bpp": info["bpp"],
        # As `jpgtool quality --max-quality`: lossless files (no quality) are never selected.
        "recompress": decision is not None and decision > target,
    }


def build_bag(paths, target, partition_size=256, bpp=False):
    """The Dask bag of summary rows, in the order of `paths`."""
    bag = db.from_sequence(paths, partition_size=max(1, partition_size))
    return bag.map(survey, target=target, bpp=bpp)


# The Parquet columns, in order, with their Arrow types (None where a row has no value).
PARQUET_COLUMNS = [
    ("path", "string"),
    ("ok", "bool"),
    ("quality", "float64"),
    ("decision_quality", "float64"),
    ("family", "string"),
    ("confidence", "string"),
    ("width", "int64"),
    ("height", "int64"),
    ("file_bytes", "int64"),
    ("bpp", "float64"),
    ("recompress", "bool"),
    ("error", "string"),
]


def write_parquet(rows, summary, out):
    """The rows as one Parquet table, the totals as JSON in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [(name, pa.type_for_alias(kind)) for name, kind in PARQUET_COLUMNS],
        metadata={"jpgtool_summary": json.dumps(summary)},
    )
    table = pa.Table.from_pylist(
        [{name: row.get(name) for name, _ in PARQUET_COLUMNS} for row in rows], schema=schema
    )
    pq.write_table(table, out)


def write_jsonl(rows, summary, out):
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
        f.write(json.dumps({"summary": summary}) + "\n")


def totals(rows):
    ok = [r for r in rows if r["ok"]]
    chosen = [r for r in ok if r["recompress"]]
    return {
        "files": len(rows),
        "failed": len(rows) - len(ok),
        "recompress": len(chosen),
        "recompress_bytes": sum(r["file_bytes"] for r in chosen),
        "total_bytes": sum(r["file_bytes"] for r in ok),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="JPEG files and folders (walked recursively)")
    parser.add_argument("--paths-from", metavar="FILE", help="a file with one path per line")
    parser.add_argument("--target", type=float, default=60, help="target quality (default 60)")
    parser.add_argument("--out", default="summary.jsonl", help="the summary (default JSON lines)")
    parser.add_argument(
        "--format",
        choices=["jsonl", "parquet"],
        help="summary format (default: parquet when --out ends in .parquet, else jsonl)",
    )
    parser.add_argument("--to-recompress", metavar="FILE", help="also list those paths here")
    parser.add_argument("-0", dest="nul", action="store_true", help="NUL-separate that list")
    parser.add_argument("--bpp", action="store_true", help="also measure bits per pixel")
    parser.add_argument("--partition-size", type=int, default=256, help="files per Dask task")
    parser.add_argument(
        "--scheduler",
        default="threads",
        help="threads (default), processes, synchronous, or a dask.distributed address "
        "such as tcp://scheduler:8786",
    )
    args = parser.parse_args(argv)
    if not args.paths and not args.paths_from:
        parser.error("give folders, files or --paths-from")

    paths = list_paths(args.paths, args.paths_from)
    bag = build_bag(paths, args.target, args.partition_size, args.bpp)
    if "://" in args.scheduler:
        from dask.distributed import Client

        with Client(args.scheduler):
            rows = bag.compute()
    else:
        with dask.config.set(scheduler=args.scheduler):
            rows = bag.compute()

    summary = totals(rows)
    summary["target"] = args.target
    fmt = args.format or ("parquet" if args.out.endswith(".parquet") else "jsonl")
    (write_parquet if fmt == "parquet" else write_jsonl)(rows, summary, args.out)
    if args.to_recompress:
        end = "\0" if args.nul else "\n"
        with open(args.to_recompress, "w", encoding="utf-8") as out:
            out.writelines(r["path"] + end for r in rows if r["recompress"])
    print(json.dumps(summary), file=sys.stderr)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

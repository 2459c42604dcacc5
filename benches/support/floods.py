#!/usr/bin/env python3
"""floods.py BASE.jpg OUTDIR [MB]: hostile variants of BASE.jpg for benches/floods.sh.

Writes into OUTDIR:
  com.jpg   BASE with MB megabytes (default 200) of COM segments inserted after SOI
  app.jpg   the same with APP11 segments (an application segment nobody knows)
  com60.jpg BASE with 60 MB of COM segments: under the default --max-metadata (64 MiB)
  com64.jpg BASE with 1021 full-length COM segments (66.9 MB): about the most the default
            --max-metadata accepts (each segment counts 64 bytes more than its length)
  tiny.jpg  BASE with 60 MB of 5-byte COM segments (12 million): under the limit in bytes,
            refused for what holding that many segments costs
  dht.jpg   BASE with its largest DHT segment repeated 1,000,000 times (T.81: the last
            definition of a slot wins, so the image decodes as before)
  dqt.jpg   the same with its largest DQT segment
  head.bin  BASE's bytes up to its first scan's data, to be followed by an endless stream
"""
import os
import struct
import sys


def segments(data):
    """(marker, start, end) of each segment from SOI to the first SOS (end = after its header)."""
    at = 2
    while at + 4 <= len(data):
        assert data[at] == 0xFF, f"no marker at {at}"
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        yield marker, at, at + 2 + length
        if marker == 0xDA:
            return
        at += 2 + length


def flood(marker, total, payload_byte):
    payload = bytes([payload_byte]) * 65533
    segment = bytes([0xFF, marker]) + struct.pack(">H", 65535) + payload
    count = max(1, total // len(segment))
    return segment * count


def main():
    base, out = sys.argv[1], sys.argv[2]
    megabytes = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    data = open(base, "rb").read()
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    segs = list(segments(data))
    os.makedirs(out, exist_ok=True)
    total = megabytes * 1_000_000

    def write(name, parts):
        with open(os.path.join(out, name), "wb") as f:
            for part in parts:
                f.write(part)

    write("com.jpg", [data[:2], flood(0xFE, total, ord("c")), data[2:]])
    write("app.jpg", [data[:2], flood(0xEB, total, ord("a")), data[2:]])
    write("com60.jpg", [data[:2], flood(0xFE, 60_000_000, ord("c")), data[2:]])
    write("com64.jpg", [data[:2], flood(0xFE, 1021 * 65537, ord("c")), data[2:]])
    write("tiny.jpg", [data[:2], b"\xff\xfe\x00\x03c" * 12_000_000, data[2:]])
    for name, marker in (("dht.jpg", 0xC4), ("dqt.jpg", 0xDB)):
        _, start, end = max((s for s in segs if s[0] == marker), key=lambda s: s[2] - s[1])
        write(name, [data[:start], data[start:end] * 1_000_000, data[start:]])
    sos_end = segs[-1][2]
    write("head.bin", [data[:sos_end]])


if __name__ == "__main__":
    main()

"""What the content-term benches share (wm-content-transplants.py, wm-content-genuine.py): the
jpgtool binary and key file, marking a source with its own payload, verifying a file blind."""
import hashlib
import json
import os
import subprocess
import sys


class Marker:
    """The release jpgtool (JPGTOOL, default target/release/jpgtool) under one key file (KEY,
    default: 32 random bytes written to OUT/key)."""

    def __init__(self, out):
        self.jpgtool = os.environ.get("JPGTOOL", "target/release/jpgtool")
        os.makedirs(out, exist_ok=True)
        self.out = out
        self.key = os.environ.get("KEY") or os.path.join(out, "key")
        if not os.path.exists(self.key):
            with open(self.key, "wb") as f:
                f.write(os.urandom(32))

    def verify(self, path):
        """`verify --json` blind: the JSON object, or {"verdict": "error"}."""
        r = subprocess.run([self.jpgtool, "verify", path, "--key-file", self.key, "--json"],
                           capture_output=True, text=True)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"verdict": "error"}

    def mark(self, src):
        """Marks `src` with the SHA-256 of its file name as payload into OUT/m-NAME; returns
        that path, or None (the refusal printed on stderr)."""
        name = os.path.basename(src)
        marked = os.path.join(self.out, "m-" + name)
        if os.path.exists(marked):
            os.remove(marked)
        payload = hashlib.sha256(name.encode()).hexdigest()
        r = subprocess.run([self.jpgtool, "mark", src, "-o", marked, "--key-file", self.key,
                            "--payload", payload, "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            print("refused", name, r.stderr.strip()[:300], file=sys.stderr)
            return None
        return marked

    def mark_each(self, sources):
        """(file name, marked path) of every source `mark` accepts, in order."""
        for src in sources:
            marked = self.mark(src)
            if marked is not None:
                yield os.path.basename(src), marked

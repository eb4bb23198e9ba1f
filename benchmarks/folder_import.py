"""``diapason import`` of a folder of many small bundles against one bundle of the same objects.

Run: ``.venv/bin/python -m benchmarks.folder_import [--count 100000] [--files 2000]``
(SQLite, under a minute). Writes the generated objects once as ``--files`` bundles of
equal size and once as a single bundle, imports each into a fresh node with the real
command line (``python -m diapason import``, one process each, its start-up and its progress bar
included), and
prints both times and their ratio: the folder should cost about what the single file does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from benchmarks.common import positive
from benchmarks.generate import generate_objects
from diapason.bundles import make_bundle


def write_bundle(path: Path, objects: list[dict[str, Any]]) -> None:
    path.write_bytes(orjson.dumps(make_bundle(objects)))


def timed_import(folder: Path, target: Path) -> float:
    """Seconds for ``diapason import TARGET`` into a new node in ``folder``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    data = folder / "node"
    command = [sys.executable, "-m", "diapason"]
    subprocess.run(
        [*command, "init", "--data", str(data), "--json"],
        env=environment,
        check=True,
        capture_output=True,
    )
    os.sync()
    started = time.perf_counter()
    # Without --json, so with the progress bar a user sees (drawn on standard error).
    done = subprocess.run(
        [*command, "import", str(target), "--data", str(data)],
        env=environment,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or b" 0 refused" not in done.stdout:
        raise SystemExit(f"import of {target} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=positive, default=100_000, help="object versions")
    parser.add_argument("--files", type=positive, default=2_000, help="bundles in the folder")
    args = parser.parse_args()
    objects = generate_objects(args.count)
    with tempfile.TemporaryDirectory(prefix="diapason-folder-import-") as name:
        root = Path(name)
        folder = root / "bundles"
        folder.mkdir()
        size = -(-len(objects) // args.files)
        for number in range(args.files):
            write_bundle(
                folder / f"b{number:05d}.json", objects[number * size : (number + 1) * size]
            )
        single = root / "all.json"
        write_bundle(single, objects)
        (root / "one").mkdir()
        (root / "many").mkdir()
        one_s = timed_import(root / "one", single)
        many_s = timed_import(root / "many", folder)
    rate = len(objects) / one_s
    print(f"{len(objects):,} objects")
    print(f"one bundle: {one_s:.2f} s ({rate:,.0f} objects/s)")
    rate = len(objects) / many_s
    print(f"{args.files:,} bundles in a folder: {many_s:.2f} s ({rate:,.0f} objects/s)")
    print(f"folder / one bundle: {many_s / one_s:.2f}x")


if __name__ == "__main__":
    main()

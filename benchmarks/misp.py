"""MISP events in, and the MISP feed out: how long each takes.

Run: ``.venv/bin/python -m benchmarks.misp [--events 200]`` (SQLite, under a minute).
Builds ``--events`` events with PyMISP (the tests' event: three attributes, a file object,
a galaxy cluster, tags), made by this node's own organisation, TLP:GREEN and graded; imports
them as one ``response`` list with the real command line (one process, its start-up and
progress bar included); runs the ledger for one partner; then makes that partner's feed
twice (the second time, the outbox unchanged, it is the one kept).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from tests.misp.events import phishing_event

from benchmarks.common import positive
from diapason.node import Node, init_node
from diapason.settings import load_settings
from diapason.web.misp_feed import MispFeed

GRADED = (
    "tlp:green",
    'admiralty-scale:source-reliability="b"',
    'admiralty-scale:information-credibility="2"',
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=positive, default=200)
    count = parser.parse_args().events
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data = root / "node"
        node, _ = init_node(load_settings(data, environ={}, sync_interval=0), "benchmark")
        node.partners.add("paris", "http://127.0.0.1:9/", "their-token")
        identity = (node.identity_id or "").partition("--")[2]
        node.close()
        events = []
        for number in range(count):
            event = phishing_event(number=0x10000 * (number + 1), tags=GRADED)
            event["Event"]["Orgc"] = {"name": "Rabat", "uuid": identity}
            events.append(event)
        source = root / "events.json"
        source.write_bytes(orjson.dumps({"response": events}))

        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "diapason", "import", "--data", str(data), str(source)],
            capture_output=True,
            text=True,
            check=True,
        )
        imported = time.perf_counter() - started
        print(f"import of {count} MISP events: {imported:.1f} s ({done.stdout.strip()})")
        print(f"  {imported / count * 1000:.0f} ms per event")

        node = Node.open(load_settings(data, environ={}, sync_interval=0))
        try:
            started = time.perf_counter()
            node.ledger.run("benchmark")
            print(f"ledger for one partner: {time.perf_counter() - started:.2f} s")
            partner = node.partners.get("paris")
            assert partner is not None
            feed = MispFeed(node)
            started = time.perf_counter()
            made = feed.feed(partner)
            print(f"feed made: {time.perf_counter() - started:.2f} s, {len(made.events)} events")
            started = time.perf_counter()
            feed.feed(partner)
            print(f"feed kept (outbox unchanged): {time.perf_counter() - started:.3f} s")
        finally:
            node.close()


if __name__ == "__main__":
    main()

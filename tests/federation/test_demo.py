"""``diapason demo --once``: two real nodes, every sample seen exactly as expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from tests.exchange.servers import free_port
from tests.federation.nodes import base_env


def test_demo_once_reports_ok(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    ports = (free_port(), free_port())
    command = [sys.executable, "-m", "diapason", "demo", "--once", "--json"]
    result = subprocess.run(
        [*command, "--data-root", str(root), "--ports", f"{ports[0]},{ports[1]}"],
        capture_output=True,
        text=True,
        env=base_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert report["ok"] is True
    assert set(report["flows"]) == {"rabat -> paris", "paris -> rabat"}
    for rows in report["flows"].values():
        assert len(rows) == 12
        assert all(row["seen"] == row["expected"] for row in rows), rows
        assert {row["expected"] for row in rows} == {True, False}
        assert all(row["code"] != "undecided" for row in rows), rows
    assert "both sides hold what they are entitled to" in result.stderr
    # --once stops both servers before it returns.
    for port in ports:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)

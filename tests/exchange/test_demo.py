"""``diapason demo --once``: two real nodes, every sample seen exactly as expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from diapason import demo
from diapason.cli.demo import invoked_as
from diapason.node import Node
from diapason.settings import load_settings
from tests.exchange.nodes import base_env
from tests.taxii.servers import free_port


@pytest.mark.slow
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


def test_demo_makes_a_web_account_and_taxii_token_shown_once(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    said: list[str] = []
    for _ in range(2):  # a second run finds the accounts and shows no secret
        nodes = demo.set_up(root, (free_port(), free_port()), said.append)
        for demo_node in nodes:
            demo_node.node.close()
    for name in demo.NAMES:
        path = root / name / demo.WEB_PASSWORD_FILE
        assert path.stat().st_mode & 0o777 == 0o600
        kept = demo.read_credentials(path)
        assert set(kept) == {demo.PASSWORD_KEY, demo.TOKEN_KEY}
        password, token = kept[demo.PASSWORD_KEY], kept[demo.TOKEN_KEY]
        shown = [line for line in said if line.startswith(f"{name}: web interface")]
        assert len(shown) == 2
        assert password in shown[0] and token in shown[0] and "/taxii2/" in shown[0]
        assert password not in shown[1] and token not in shown[1]
        assert str(path) in shown[1]
        node = Node.open(load_settings(root / name, environ={}))
        try:
            user = node.accounts.check_password(demo.WEB_USER, password)
            assert user is not None and user.role == "analyst"
            reader = node.accounts.authenticate_token(token)
            assert reader is not None and reader.username == demo.WEB_USER
            made = [entry.action for entry in node.audit.entries(actor="demo")]
            assert made.index("user_add") < made.index("token_create")
        finally:
            node.close()


@pytest.mark.parametrize(
    ("argv0", "expected"),
    [
        (".venv/bin/diapason", ".venv/bin/diapason"),
        ("/work/repo/.venv/bin/diapason", ".venv/bin/diapason"),
        ("diapason", "diapason"),
        ("/opt/elsewhere/bin/diapason", "/opt/elsewhere/bin/diapason"),
        ("/work/repo/src/diapason/__main__.py", ".venv/bin/python -m diapason"),
    ],
)
def test_demo_hints_name_the_command_as_it_runs(argv0: str, expected: str) -> None:
    assert invoked_as(argv0, "/work/repo/.venv/bin/python", "/work/repo") == expected

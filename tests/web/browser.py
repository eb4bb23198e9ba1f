"""Debian's Chromium driven by Playwright for Python, and where screenshots go.

Playwright's own browser downloads are never used (nothing downloads here): the browser is
the ``chromium`` Debian package at /usr/bin/chromium, which ``scripts/test`` installs when
missing. Without it the browser tests skip on a developer's machine and fail in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import ViewportSize

from tests.shared import REPOSITORY

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Git-ignored; kept after the run so a person can look at the pages.
SCREENSHOTS = REPOSITORY / "test-artifacts" / "web"
# A laptop screen.
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it)"
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"

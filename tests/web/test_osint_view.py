"""The article page shows what ingest kept (``osint/view.py``): no language model at view
time; an article kept without a view is analysed once, when first shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from diapason.osint.view import KEY_PREFIX, ArticleViews
from tests.shared import REPOSITORY, SEED
from tests.web.conftest import Site
from tests.web.site import WebClient, make_node

ROOT = REPOSITORY
# A fresh process: the page served without the startup's warm-up (no lifespan), then
# whether spaCy's model was loaded.
PROBE = """
import sys
from pathlib import Path

from starlette.testclient import TestClient

from diapason.node import Node
from diapason.osint import nlp
from diapason.settings import load_settings
from diapason.web.app import create_app
from tests.web.site import WebClient
from tests.shared import REPOSITORY

settings = load_settings(Path(sys.argv[1]), environ={}, node_name="rabat", sync_interval=0)
app = create_app(settings, Node.open(settings))
client = WebClient(TestClient(app, follow_redirects=False))
assert client.login().status_code == 303
page = client.get("/osint/articles/" + sys.argv[2])
print(page.status_code, 'class="ent ent-per"' in page.text, nlp.loaded())
"""


def test_the_page_shows_the_kept_view_without_the_model(tmp_path: Path) -> None:
    folder = tmp_path / "node"
    node = make_node(folder, None)
    result = node.ingestor("tests").ingest_bytes(SEED.read_bytes(), "seed")
    assert result.report_id is not None and result.view is not None
    assert ArticleViews(node.facts).get(result.report_id) == result.view
    node.close()
    shown = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), result.report_id],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["200", "True", "False"]


def test_an_article_without_a_view_is_analysed_when_shown(site: Site, admin: WebClient) -> None:
    result = site.node.ingestor("tests").ingest_bytes(SEED.read_bytes(), "seed")
    report_id = result.report_id or ""
    views = ArticleViews(site.node.facts)
    kept = views.get(report_id)
    assert kept is not None and kept.entities and kept.events
    # As an article ingested before views were kept (or kept in a form no longer read).
    site.node.facts.set(KEY_PREFIX + report_id, "{}")
    assert views.get(report_id) is None
    page = admin.get(f"/osint/articles/{report_id}")
    assert page.status_code == 200 and 'title="person: Abdelouafi Laftit"' in page.text
    again = views.get(report_id)
    assert again is not None
    assert [(e.type, e.canonical, e.mentions) for e in again.entities] == [
        (e.type, e.canonical, e.mentions) for e in kept.entities
    ]

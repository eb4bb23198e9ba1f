"""Fixtures of the TAXII 2.1 tests: a real node (SQLite file or PostgreSQL) behind the real
application, in process through Starlette's TestClient, or as real server processes."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
import pytest
from starlette.testclient import TestClient

from diapason.exchange.collections import Collection
from diapason.node import Node, init_node
from diapason.settings import load_settings
from diapason.web.app import create_app

TAXII = "application/taxii+json;version=2.1"
PASSWORD = "a long enough passphrase"
Params = Mapping[str, str] | Sequence[tuple[str, str]] | None


def query(params: Params) -> tuple[tuple[str, str], ...]:
    return tuple(params.items()) if isinstance(params, Mapping) else tuple(params or ())


def bearer(token: str) -> str:
    return f"Bearer {token}"


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


class Answer(Protocol):
    """What the tests read of an HTTP answer: httpx's over real HTTP, or the one Starlette's
    TestClient returns in process (built on its own copy of httpx)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...


def body(response: Answer) -> dict[str, Any]:
    """The JSON body of a TAXII response, after checking its media type."""
    assert response.headers["content-type"] == TAXII, response.headers
    value = orjson.loads(response.content)
    assert isinstance(value, dict)
    return value


def is_error(response: Answer, status: int) -> dict[str, Any]:
    """Check that a response is a TAXII error message with that status; return it."""
    assert response.status_code == status, (response.status_code, response.text)
    message = body(response)
    assert message["http_status"] == str(status)
    assert isinstance(message["title"], str) and message["title"]
    return message


@dataclass
class Taxii:
    """A node with its admin token, one collection, and a client of its application."""

    node: Node
    client: TestClient
    data: Path
    database_url: str
    token: str
    collection: Collection
    tokens: dict[str, str] = field(default_factory=dict)

    # -- paths ------------------------------------------------------------------------------
    root = "/taxii2/main/"

    def collection_path(self, collection: Collection | str | None = None) -> str:
        chosen = collection or self.collection
        ident = chosen if isinstance(chosen, str) else chosen.id
        return f"{self.root}collections/{ident}/"

    def objects_path(self, collection: Collection | str | None = None) -> str:
        return self.collection_path(collection) + "objects/"

    def object_path(self, object_id: str, collection: Collection | str | None = None) -> str:
        return f"{self.objects_path(collection)}{object_id}/"

    def manifest_path(self, collection: Collection | str | None = None) -> str:
        return self.collection_path(collection) + "manifest/"

    # -- requests ---------------------------------------------------------------------------
    def headers(self, authorization: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"Accept": TAXII, "Authorization": authorization or bearer(self.token)}
        headers.update({name.replace("_", "-"): value for name, value in extra.items()})
        return headers

    def get(self, path: str, params: Params = None, *, auth: str | None = None) -> Answer:
        answer: Answer = self.client.get(path, params=query(params), headers=self.headers(auth))
        return answer

    def delete(self, path: str, params: Params = None, *, auth: str | None = None) -> Answer:
        answer: Answer = self.client.delete(path, params=query(params), headers=self.headers(auth))
        return answer

    def post(
        self,
        objects: Sequence[Any],
        collection: Collection | str | None = None,
        *,
        auth: str | None = None,
    ) -> Answer:
        answer: Answer = self.client.post(
            self.objects_path(collection),
            content=orjson.dumps({"objects": list(objects)}),
            headers=self.headers(auth, Content_Type=TAXII),
        )
        return answer

    def add(self, objects: Sequence[Any], collection: Collection | str | None = None) -> str:
        """Post objects as the admin; all must be accepted. Returns the status id."""
        response = self.post(objects, collection)
        status = body(response)
        assert response.status_code == 202, status
        assert status["failure_count"] == 0, status
        return str(status["id"])

    def all_pages(
        self,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        key: str = "objects",
        cursor: str | None = None,
    ) -> list[Any]:
        """Everything a listing returns, page after page through ``next`` (from ``cursor``)."""
        found: list[Any] = []
        for _ in range(1000):
            response = self.get(path, [*params, *([("next", cursor)] if cursor else [])])
            page = body(response)
            assert response.status_code == 200, page
            found.extend(page.get(key, []))
            if not page.get("more"):
                return found
            cursor = page["next"]
        raise AssertionError("paging did not end")

    # -- accounts ---------------------------------------------------------------------------
    def user(
        self,
        username: str,
        role: str,
        *,
        password: str | None = None,
        grants: Mapping[str, tuple[bool, bool]] | None = None,
    ) -> str:
        """Add a user with an API token (remembered in ``tokens``), and grants by collection
        id: ``{id: (read, write)}``. Returns the token."""
        self.node.accounts.add_user(username, role, password)
        token = self.node.accounts.create_token(username, "tests").secret
        for collection_id, (read, write) in (grants or {}).items():
            self.node.collections.grant(collection_id, username, read=read, write=write)
        self.tokens[username] = token
        return token


def open_taxii(data: Path, database_url: str) -> tuple[Node, str]:
    """Initialise a node in ``data`` (its config, with the secret key, is written there)."""
    # No background exchange loop: these tests drive the TAXII server alone.
    settings = load_settings(data, environ={}, database_url=database_url, sync_interval=0)
    node, initialised = init_node(settings, "tests")
    assert initialised is not None
    return node, initialised.token.secret


@pytest.fixture
def taxii(database_url: str, tmp_path: Path) -> Iterator[Taxii]:
    """A fresh node, on each backend, served in process."""
    data = tmp_path / "node"
    node, token = open_taxii(data, database_url)
    collection = node.collections.add(
        "main", "Shared indicators", alias="shared", description="What partners may see"
    )
    with TestClient(create_app(node.settings, node)) as client:
        yield Taxii(node, client, data, database_url, token, collection)

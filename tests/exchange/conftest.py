"""Fixtures of the exchange tests: real nodes (SQLite files, or a throwaway PostgreSQL
database each), served as separate processes; misbehaving partners on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.exchange.fakes import FakePartner
from tests.exchange.nodes import FedNode

POSTGRES_URL_VARIABLE = "DIAPASON_TEST_POSTGRES_URL"

MakeNode = Callable[..., FedNode]
MakeFake = Callable[..., FakePartner]


class PostgresDatabases:
    """Throwaway PostgreSQL databases, one per node, dropped at the end of the test."""

    def __init__(self) -> None:
        base = os.environ.get(POSTGRES_URL_VARIABLE)
        if not base:
            self.unavailable(f"{POSTGRES_URL_VARIABLE} is not set")
        self.base = str(base)
        self.admin = sa.create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    @staticmethod
    def unavailable(reason: str) -> None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)

    def create(self) -> str:
        name = f"diapason_fed_{uuid.uuid4().hex[:12]}"
        try:
            with self.admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as error:
            self.unavailable(f"PostgreSQL at {POSTGRES_URL_VARIABLE} does not answer: {error}")
        self.names.append(name)
        return sa.make_url(self.base).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.names:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[MakeNode]:
    """``make_node(name, backend="sqlite"|"postgresql")``: a new, initialised node."""
    made: list[FedNode] = []
    databases: PostgresDatabases | None = None

    def make(name: str, backend: str = "sqlite") -> FedNode:
        nonlocal databases
        url = None
        if backend == "postgresql":
            databases = databases or PostgresDatabases()
            url = databases.create()
        node = FedNode.create(tmp_path, name, url)
        made.append(node)
        return node

    yield make
    for node in made:
        node.close()
    if databases is not None:
        databases.drop_all()


@pytest.fixture
def make_fake() -> Iterator[MakeFake]:
    """``make_fake(mode, receiver, objects=None)``: a misbehaving partner on loopback."""
    made: list[FakePartner] = []

    def make(mode: str, receiver: str, objects: list[Any] | None = None) -> FakePartner:
        fake = FakePartner(mode, receiver, objects)
        made.append(fake)
        return fake

    yield make
    for fake in made:
        fake.close()

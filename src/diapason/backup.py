"""``diapason backup`` and ``restore``: a node's database and data folder, copied while
it runs and brought back, checkable by a manifest (docs/operations.md).

A backup is a folder: ``manifest.json`` (written last: a folder without it is partial),
the database's copy (``store.copy_database``: SQLite's online backup API, or
``pg_dump``) and ``files/``, every file of the data folder but the live SQLite database
(the config file with the secret key, the database password file, key files).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from diapason.errors import DiapasonError
from diapason.http.metrics import FOLDER_NAME as METRICS_FOLDER
from diapason.node import prepare_data_folder, record_database
from diapason.settings import Settings, database_identity, default_database_url
from diapason.store import COPY_FILES, copy_database, load_database

MANIFEST = "manifest.json"
FILES = "files"
FORMAT = 1
CHUNK = 1 << 20

# what ("database" or "files"), done, total (None: unknown).
Progress = Callable[[str, int, int | None], None]


class BackupError(DiapasonError):
    """A backup cannot be made, or a backup cannot be restored: the message says why."""


@dataclass(frozen=True)
class Entry:
    """One file of a backup: its path in the backup folder, size and SHA-256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format: int
    node_name: str
    dialect: str
    schema_revision: str | None
    created: str
    database: Entry
    files: list[Entry]

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = orjson.loads(raw)
            return cls(
                format=int(data["format"]),
                node_name=str(data["node_name"]),
                dialect=str(data["dialect"]),
                schema_revision=data["schema_revision"],
                created=str(data["created"]),
                database=_entry(data["database"]),
                files=[_entry(item) for item in data["files"]],
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise BackupError(f"{MANIFEST} is not a Diapason backup manifest: {error}") from None


def _entry(data: Any) -> Entry:
    path = str(data["path"])
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise ValueError(f"path {path!r} leaves the backup folder")
    return Entry(path, int(data["size"]), str(data["sha256"]))


def _counter(what: str, total: int, progress: Progress) -> Callable[[int], None]:
    """Reports ``what`` to ``progress`` as bytes are counted, from 0 of ``total``."""
    done = 0
    progress(what, done, total)

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress(what, done, total)

    return advance


def _hash_copy(source: Path, target: Path | None, advance: Callable[[int], None]) -> Entry:
    """SHA-256 and size of ``source``, copied to ``target`` (owner-only) when given."""
    digest = hashlib.sha256()
    size = 0
    output = None
    if target is not None:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        output = os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    try:
        with source.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if output is not None:
                    output.write(chunk)
                advance(len(chunk))
    finally:
        if output is not None:
            output.close()
    return Entry(source.name, size, digest.hexdigest())


def _folder_files(settings: Settings) -> list[Path]:
    """Every regular file of the data folder but its live SQLite database and the request
    figures of ``serve``'s workers (``metrics/``, emptied at each start)."""
    skipped: set[str] = set()
    if settings.database_dialect == "sqlite":
        live = database_identity(settings.database_url.reveal())[1]
        skipped = {live + suffix for suffix in ("", "-wal", "-shm", "-journal")}
    folder = settings.data_dir
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not path.is_symlink()
        and str(path.resolve()) not in skipped
        and not path.name.startswith(".write-test-")
        and path.relative_to(folder).parts[0] != METRICS_FOLDER
    )


def _empty_folder(folder: Path, what: str) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{what} {folder} exists and is not an empty folder")


def backup(
    settings: Settings, destination: Path, created: datetime, progress: Progress
) -> Manifest:
    """Copy the node's database and data folder into ``destination`` (a new or empty
    folder), the manifest last."""
    _empty_folder(destination, "backup folder")
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)
    destination.chmod(0o700)
    copy_name = COPY_FILES[settings.database_dialect]
    copy_path = destination / copy_name
    revision = copy_database(
        settings.database_url.reveal(),
        copy_path,
        lambda done, total: progress("database", done, total),
    )
    database = _hash_copy(copy_path, None, lambda _n: None)
    sources = _folder_files(settings)
    advance = _counter("files", sum(path.stat().st_size for path in sources), progress)
    files = []
    for source in sources:
        relative = source.relative_to(settings.data_dir).as_posix()
        entry = _hash_copy(source, destination / FILES / relative, advance)
        files.append(Entry(f"{FILES}/{relative}", entry.size, entry.sha256))
    manifest = Manifest(
        FORMAT,
        settings.node_name,
        settings.database_dialect,
        revision,
        created.isoformat(),
        Entry(copy_name, database.size, database.sha256),
        files,
    )
    temporary = destination / f".{MANIFEST}.tmp"
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(manifest.to_json())
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, destination / MANIFEST)
    return manifest


def verify_backup(source: Path, progress: Progress) -> Manifest:
    """The manifest of the backup in ``source``, once every file it lists is there with
    its size and SHA-256; refuses a partial or corrupt backup, naming the first fault."""
    try:
        raw = (source / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise BackupError(
            f"{source} has no {MANIFEST}: not a backup, or a partial one (the manifest is "
            "written last)"
        ) from None
    manifest = Manifest.from_json(raw)
    if manifest.format != FORMAT:
        raise BackupError(f"{source}: backup format {manifest.format}, this version reads {FORMAT}")
    if manifest.dialect not in COPY_FILES or manifest.database.path != COPY_FILES[manifest.dialect]:
        raise BackupError(f"{source}: the manifest names no database copy this version reads")
    entries = [manifest.database, *manifest.files]
    advance = _counter("checking", sum(entry.size for entry in entries), progress)
    for entry in entries:
        path = source / entry.path
        if not path.is_file():
            raise BackupError(f"{source}: {entry.path} is missing (a partial backup)")
        found = _hash_copy(path, None, advance)
        if found.size != entry.size or found.sha256 != entry.sha256:
            raise BackupError(
                f"{source}: {entry.path} does not match the manifest ({found.size} bytes, "
                f"expected {entry.size}; or another SHA-256): a corrupt backup"
            )
    return manifest


def restore(
    source: Path,
    data_dir: Path,
    database_url: str | None,
    *,
    force: bool,
    progress: Progress,
) -> Manifest:
    """Bring a backup back into ``data_dir`` and the database at ``database_url`` (by
    default, for an SQLite backup, the folder's own SQLite file). Both must be empty
    unless ``force``; the data folder then records its database."""
    manifest = verify_backup(source, progress)
    url = database_url or default_database_url(data_dir)
    dialect = database_identity(url)[0]
    if dialect != manifest.dialect:
        needed = "" if database_url else ": name one with DIAPASON_DATABASE_URL or --database-url"
        raise BackupError(
            f"the backup holds a {manifest.dialect} database, the target is {dialect}{needed}"
        )
    if not force:
        _empty_folder(data_dir, "data folder")
    prepare_data_folder(data_dir)
    data_dir.chmod(0o700)
    advance = _counter("files", sum(entry.size for entry in manifest.files), progress)
    load_database(url, source / manifest.database.path, force=force)
    for entry in manifest.files:
        target = data_dir / Path(entry.path).relative_to(FILES)
        target.unlink(missing_ok=True)
        _hash_copy(source / entry.path, target, advance)
    record_database(data_dir, url)
    return manifest

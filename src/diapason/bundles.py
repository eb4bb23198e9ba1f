"""Reading STIX 2.1 bundles from files and bytes, with precise errors for every bad input."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from diapason.errors import DiapasonError


class BundleError(DiapasonError, ValueError):
    """A file or body that is not a readable STIX bundle; the message names it and says why."""


def parse_json(data: bytes, origin: str) -> Any:
    """JSON bytes parsed, or a ``BundleError`` naming ``origin`` and saying why not."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise BundleError(
                f"{origin}: not valid UTF-8 (byte {bad.start}: {bad.reason})"
            ) from None
        raise BundleError(f"{origin}: not valid JSON: {error}") from None


def bundle_objects(parsed: Any, origin: str) -> list[Any]:
    """The ``objects`` of a parsed bundle (objects themselves unchecked)."""
    if not isinstance(parsed, dict):
        raise BundleError(f"{origin}: not a STIX bundle (the JSON is not an object)")
    if parsed.get("type") != "bundle":
        found = parsed.get("type")
        raise BundleError(f"{origin}: not a STIX bundle (type is {found!r}, expected 'bundle')")
    objects = parsed.get("objects", [])
    if not isinstance(objects, list):
        raise BundleError(f"{origin}: bundle 'objects' is not a list")
    return objects


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The bytes of one file, refusing a file over ``max_bytes`` before loading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BundleError(
                f"{path}: {size:,} bytes, over the import limit of {max_bytes:,} "
                "(DIAPASON_MAX_REQUEST_BYTES)"
            )
        return path.read_bytes()
    except OSError as error:
        raise BundleError(f"{path}: cannot be read: {error.strerror}") from None


def bundle_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and ``*.json`` files found below folders named, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(item for item in path.rglob("*.json") if item.is_file())
        elif path.exists():
            yield path
        else:
            raise BundleError(f"{path}: no such file or folder")


def make_bundle(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}

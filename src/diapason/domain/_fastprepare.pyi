# The C module built from _fastprepare.c (docs/store.md#the-c-accelerator).
from collections.abc import Callable
from typing import Any

from diapason.domain.stix import Prepared

def setup(
    prepared: type,
    dumps: Callable[..., bytes],
    sort_option: int,
    sco_types: frozenset[str],
    unversioned_types: frozenset[str],
    text_properties: tuple[str, ...],
    epoch: str,
) -> None: ...
def prepare(obj: Any, index: int, max_bytes: int) -> Prepared | None: ...
def normalise(value: Any) -> str | None: ...
def valid_id(value: Any) -> bool: ...

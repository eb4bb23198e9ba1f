"""Where the project's shared reference material is: ``shared/`` beside the repository.

In CI the clone's parent holds it; a worktree may sit further down, so the nearest
``shared/`` up the tree that has ``seed/`` wins. Tests and benchmarks read it; the product
never does.
"""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def _find_shared() -> Path:
    for folder in REPOSITORY.parents:
        if (folder / "shared" / "seed").is_dir():
            return folder / "shared"
    # Not found: paths built from it name where it was expected when a test opens them.
    return REPOSITORY.parent / "shared"


SHARED = _find_shared()
SEED = SHARED / "seed" / "000_fdb49ce0c2db047b.txt"
DEV_CORPUS = SHARED / "corpus" / "dev"
DATA = SHARED / "data"

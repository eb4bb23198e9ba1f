"""The base of the errors whose message is the whole story.

A ``DiapasonError`` says what was wrong and why in one line (which file, object, field or
setting): the command line prints it as ``diapason: error: …`` with exit code 1, never a
traceback. Each module keeps its own error class (``StixError``, ``DatabaseError``…) and
derives it from this one as well as from the built-in it already was. This module imports
nothing, so the command line can catch every such error without importing every module that
defines one (some pull in SciPy or the web server).
"""

from __future__ import annotations


class DiapasonError(Exception):
    """An error reported to the user as its message alone."""

"""The worker processes of ``diapason serve --workers N`` end with their parent.

uvicorn starts each worker with multiprocessing; if the parent is killed (SIGKILL, the
out-of-memory killer) nothing would stop them, and they would go on answering on the
port, so that the next ``serve`` fails with "Address already in use". On Linux each worker
asks the kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``); uvicorn
then shuts the worker down as on any SIGTERM.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys

log = logging.getLogger("diapason.web")

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """In a worker process (a multiprocessing child): get SIGTERM when the parent dies.
    Does nothing in a process of its own (``serve`` with one worker) or off Linux."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("worker %d may outlive its parent: prctl failed", os.getpid())
        return
    if os.getppid() != parent.pid:  # the parent died before the prctl: too late for it
        os.kill(os.getpid(), signal.SIGTERM)

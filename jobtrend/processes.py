"""Whether the process that wrote a "running" row (a crawl run, a job run) is still alive.

A row records the host and pid of its writer. On this host the kernel can say (``kill(pid, 0)``); a pid of
another user's process is alive. On another host nothing can be asked: :func:`process_alive` answers None and
the caller decides by age.
"""

from __future__ import annotations

import os
import socket


def process_alive(host: object, pid: object) -> bool | None:
    """True or False for a process of this host, None when ``host`` is another machine or ``pid`` no pid."""
    if host != socket.gethostname() or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's process
        return True
    return True

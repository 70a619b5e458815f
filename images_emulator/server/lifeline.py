"""`--exit-with-stdin`: stop when standard input closes.

A program that starts the emulator with a pipe on its stdin (the pytest plugin, `EmulatorProcess`) holds
the pipe's only write end. However that program ends (SIGTERM from a CI job's cancellation, SIGKILL, a
crash), the kernel closes its end, the emulator reads end-of-file and stops (`watch_stdin`): it never
outlives the program that needs it.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import threading
import time

STDIN = 0
RESEND_SECONDS = 1.0
log = logging.getLogger("images_emulator")


def watchable() -> bool:
    """Whether stdin is a pipe or a socket, which end-of-file means its writer is gone. (A terminal would stop a
    background server that reads it; /dev/null would stop it at once.)"""
    try:
        mode = os.fstat(STDIN).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def watch_stdin() -> threading.Thread | None:
    """A daemon thread that stops this process once stdin (a pipe or socket) reaches end-of-file: SIGTERM
    (a graceful stop), then SIGINT each RESEND_SECONDS until it has ended. A server still starting ignores
    the stop signals for a moment (server/workers.run_server), and uvicorn ends its graceful wait at a second
    SIGINT, which nobody is left to need. None (and a warning) when stdin is neither."""
    if not watchable():
        log.warning("--exit-with-stdin: stdin is not a pipe or a socket; not watched")
        return None

    def watch() -> None:
        try:
            while os.read(STDIN, 4096):
                pass
        except OSError:
            pass  # stdin closed or unreadable: the same as end-of-file
        sig = signal.SIGTERM
        while True:
            os.kill(os.getpid(), sig)
            time.sleep(RESEND_SECONDS)
            sig = signal.SIGINT

    thread = threading.Thread(target=watch, name="stdin-lifeline", daemon=True)
    thread.start()
    return thread

"""`--exit-with-stdin`: stop when standard input closes.

A program that starts the emulator with a pipe on its stdin (the pytest plugin, `EmulatorProcess`) holds
the pipe's only write end. However that program ends (SIGTERM from a CI job's cancellation, SIGKILL, a
crash), the kernel closes its end, the emulator reads end-of-file and stops as on SIGTERM: it never
outlives the program that needs it.
"""

from __future__ import annotations

import os
import signal
import threading
import time

STDIN = 0


RESEND_SECONDS = 1.0


def watch_stdin() -> threading.Thread:
    """A daemon thread that sends this process SIGTERM once stdin reaches end-of-file (what it reads
    before that is discarded), and again each RESEND_SECONDS until the process has ended: a server
    still starting ignores the stop signals for a moment (server/workers.run_server), and a second
    one cuts uvicorn's graceful wait short, which nobody is left to need."""

    def watch() -> None:
        try:
            while os.read(STDIN, 4096):
                pass
        except OSError:
            pass  # stdin closed or unreadable: the same as end-of-file
        while True:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(RESEND_SECONDS)

    thread = threading.Thread(target=watch, name="stdin-lifeline", daemon=True)
    thread.start()
    return thread

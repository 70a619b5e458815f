"""Python's cyclic garbage collector while the server starts: paused, then the startup objects frozen.

Importing the stack (FastAPI, pydantic, uvicorn, Pillow) and building the app allocate about 90k
long-lived objects; with the collector running, its 130-odd collections on the way cost about 70 ms
of a 0.5 s start here, and find almost nothing: about 650 objects (0.2 MiB) of import-time cycles.
So the command pauses it before its first heavy import (`images_emulator/__main__.py`), and each
serving process freezes what it built and resumes it once its app is up (the lifespan, server/app.py;
the supervisor after forking its workers). The import-time cycles stay, frozen with the rest.

Only the command pauses it: an app created in a test's process (create_app) leaves the collector alone.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop automatic collections for the start (no-op when they are already off)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def freeze_and_resume() -> None:
    """Move every object made so far out of the collector's way, then restart collections if `pause`
    stopped them."""
    global _paused
    gc.freeze()
    if _paused:
        _paused = False
        gc.enable()

"""Testing helpers: `ImagesEmulator` (a server, a running one, or the app in process) and the pytest plugin."""

from images_emulator.testing.emulator import EmulatorError, ImagesEmulator

__all__ = ["EmulatorError", "ImagesEmulator"]

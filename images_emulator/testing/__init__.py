"""Testing helpers: `ImagesEmulator` (a server, a running one, or the app in process) and the pytest plugin."""

from images_emulator.testing.emulator import EmulatorError, ImagesEmulator, UnusedFaultWarning
from images_emulator.testing.outbound import RealApiBlocked
from images_emulator.testing.process import EmulatorStartError

__all__ = ["EmulatorError", "EmulatorStartError", "ImagesEmulator", "RealApiBlocked", "UnusedFaultWarning"]

"""images-emulator: a local, offline emulator of the OpenAI Images API."""

__version__ = "0.1.0"

"""pytest plugin (entry point `pytest11`): the `images_emulator` fixture."""

"""`python -m images_emulator` starts the server."""

from images_emulator.server.cli import main

if __name__ == "__main__":
    main()

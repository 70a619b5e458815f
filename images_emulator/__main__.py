"""`python -m images_emulator` and the `images-emulator` command: start the server."""

from images_emulator.server import collector


def main() -> None:
    """Pause the garbage collector for the start (server/collector.py), then run the command line."""
    collector.pause()
    from images_emulator.server.cli import main as run  # the whole stack's imports: after the pause

    run()


if __name__ == "__main__":
    main()

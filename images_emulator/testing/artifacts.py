"""CI artifacts (`pytest --images-emulator-artifacts DIR`): per test, the images it received, and one
static `DIR/index.html`, the dashboard's own page and script reading the recorded journal instead of a
server (open it from the CI job's artifacts, no server needed).

Layout: `DIR/index.html`, `DIR/ui/` (the dashboard's assets and `data.js`, the journal), and per test
`DIR/<test>/<n>-<role>-<index>.<ext>` with `thumbs/` beside them. Under pytest-xdist each worker writes
its own `DIR/<worker>/`.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from images_emulator import __version__
from images_emulator.testing.emulator import ADMIN_KEY_HEADER, ImagesEmulator
from images_emulator.web.dashboard import STATIC

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif", "image/svg+xml": "svg"}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:120] or "test"


class Artifacts:
    """The artifacts directory of one test run: it grows by one test at a time, the page rewritten each time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.entries: list[dict[str, Any]] = []
        self.exhibits: dict[str, dict[str, Any]] = {}
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ui").mkdir(exist_ok=True)
        for name in ("dashboard.css", "dashboard.js"):
            shutil.copyfile(STATIC / name, directory / "ui" / name)
        shutil.copyfile(STATIC / "dashboard.html", directory / "index.html")

    def record(self, emulator: ImagesEmulator, test: str) -> None:
        """Save what `emulator` (a session view) journaled during `test`, then rewrite the page's data."""
        folder = slug(test)
        headers = {ADMIN_KEY_HEADER: emulator.admin_key} if emulator.admin_key else {}
        http = emulator.http_client(headers=headers)  # not `with`: the in-process transport is shared
        try:
            for number, entry in enumerate(emulator.requests()):
                self.entries.append({**entry, "session": test})
                if entry.get("status") != 200:
                    continue
                answer = http.get(f"{emulator.server_url}/__emulator/requests/{entry['id']}/exhibit")
                if answer.status_code != 200:
                    continue
                exhibit = answer.json()
                for picture in exhibit["pictures"]:
                    picture.update(self.save(http, emulator.server_url, folder, number, picture))
                self.exhibits[entry["id"]] = exhibit
        finally:
            http.close()
        self.write_data()

    def save(self, http: Any, root: str, folder: str, number: int, picture: dict[str, Any]) -> dict[str, str]:
        """Write one picture and its thumbnail; their paths relative to index.html."""
        name = f"{number:03d}-{picture['role']}-{picture['index']}"
        if picture["partial"] is not None:
            name += f".{picture['partial']}"
        image = f"{folder}/{name}.{EXTENSIONS.get(picture['media_type'], 'bin')}"
        thumbnail_type = "svg" if picture["media_type"] == "image/svg+xml" else "webp"
        thumbnail = f"{folder}/thumbs/{name}.{thumbnail_type}"
        for relative, url in ((image, picture["image"]), (thumbnail, picture["thumbnail"])):
            target = self.directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            response = http.get(root + url)
            target.write_bytes(response.content if response.status_code == 200 else b"")
        return {"image": image, "thumbnail": thumbnail}

    def write_data(self) -> None:
        data = {"version": __version__, "title": "CI artifacts", "entries": self.entries, "exhibits": self.exhibits}
        text = "window.EMULATOR_STATIC = " + json.dumps(data, ensure_ascii=False).replace("</", "<\\/") + ";\n"
        (self.directory / "ui" / "data.js").write_text(text, encoding="utf-8")

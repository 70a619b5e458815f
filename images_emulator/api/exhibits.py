"""Develop a gallery exhibit (harness/gallery.py): read the images out of the answer as it was sent.

JSON answers (`data[].b64_json` or `data[].url`) and event streams (`partial_image` and `completed`
events) alike; the response is kept with each base64 text replaced by its length. A generation that
another worker answered is drawn again from its journaled body (`redrawn`: the images are
deterministic), and so is its answer (but a stream's events, and URLs). Blocking (base64, JSON,
Pillow): run it off the event loop.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from images_emulator.api.responses import answer_tail, whole_body
from images_emulator.api.streaming import plan_steps
from images_emulator.contract.catalog import Catalog
from images_emulator.contract.endpoints import GENERATIONS
from images_emulator.contract.errors import ApiError
from images_emulator.contract.job import Job
from images_emulator.contract.validation import validate_generation
from images_emulator.harness.context import RequestContext
from images_emulator.harness.fixtures import Fixtures
from images_emulator.harness.gallery import Exhibit, Picture
from images_emulator.harness.plan import target_of
from images_emulator.imaging.cache import ImageCache
from images_emulator.imaging.pictures import final_images, stream_image
from images_emulator.imaging.thumbnail import media_type, small, thumbnail

UrlImage = Callable[[str], bytes | None]  # the image behind a URL this server issued


def picture(role: str, index: int, partial: int | None, data: bytes) -> Picture:
    return Picture(role, index, partial, media_type(data), data, thumbnail(data))


def decoded(b64: Any) -> bytes | None:
    if not isinstance(b64, str):
        return None
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return None


def without_base64(item: Any) -> Any:
    """A response object with its `b64_json` text replaced by a note of its length."""
    if isinstance(item, dict) and isinstance(item.get("b64_json"), str):
        return {**item, "b64_json": f"…[{len(item['b64_json'])} base64 chars]"}
    return item


def json_answer(body: bytes, url_image: UrlImage) -> tuple[Any, list[Picture]]:
    document = json.loads(body)
    pictures: list[Picture] = []
    items = document.get("data") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return document, pictures
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        data = decoded(item.get("b64_json"))
        if data is None and isinstance(item.get("url"), str):
            data = url_image(item["url"])
        if data is not None:
            pictures.append(picture("final", index, None, data))
    return {**document, "data": [without_base64(item) for item in items]}, pictures


def stream_answer(body: bytes) -> tuple[Any, list[Picture]]:
    events: list[Any] = []
    pictures: list[Picture] = []
    completed = 0
    for frame in body.split(b"\n\n"):
        data_lines = [line[5:].strip() for line in frame.split(b"\n") if line.startswith(b"data:")]
        if not data_lines:
            continue
        try:
            event = json.loads(b"\n".join(data_lines))
        except ValueError:
            continue
        kind = str(event.get("type", "")) if isinstance(event, dict) else ""
        image = decoded(event.get("b64_json")) if isinstance(event, dict) else None
        if image is not None and kind.endswith("partial_image"):
            pictures.append(picture("partial", completed, event.get("partial_image_index"), image))
        elif image is not None and kind.endswith("completed"):
            pictures.append(picture("final", completed, None, image))
            completed += 1
        events.append(without_base64(event))
    return {"events": events}, pictures


def develop(exhibit: Exhibit, url_image: UrlImage) -> Exhibit:
    """The exhibit with its pictures and response read from the raw answer (which is let go)."""
    if exhibit.developed:
        return exhibit
    body = b"".join(exhibit.raw)
    try:
        if exhibit.content_type.startswith("text/event-stream"):
            response, pictures = stream_answer(body)
        else:
            response, pictures = json_answer(body, url_image)
    except ValueError:
        response, pictures = {"unreadable": f"{len(body)} bytes"}, []
    uploads = []
    for index, image in enumerate(exhibit.uploads):
        preview = small(image)
        uploads.append(Picture("upload", index, None, "image/webp", preview, preview))
    # The answer's pictures first: their indexes (in the thumbnail URLs) are the same on every worker,
    # which may have the answer (shared, or drawn again) without the uploads.
    return Exhibit(exhibit.content_type, developed=True, response=response, pictures=[*pictures, *uploads])


REDRAWN = "Not kept by this worker: the images are drawn again from the journaled request (the same bytes)."


def drawn_again(path: object) -> bool:
    """Whether another worker can draw a request's images again from its journal entry (plain generations);
    the others' answers go through the shared store (harness/shared_exhibits.py)."""
    return path == GENERATIONS.path


def redrawn(entry: dict[str, Any], catalog: Catalog, cache: ImageCache, fixtures: Fixtures | None) -> Exhibit | None:
    """The exhibit of a journaled generation this process did not answer, or None when its images can't be
    drawn again from the entry (not a plain 200 generation, or a fault changed the answer)."""
    body = entry.get("body")
    if not drawn_again(entry.get("path")) or entry.get("status") != 200 or entry.get("fault") is not None:
        return None
    if not isinstance(body, dict):
        return None
    try:
        job = validate_generation(body, catalog)
    except ApiError:
        return None
    target = target_of(RequestContext(entry["id"], session=entry.get("session")), job)
    rule = fixtures.match(target) if fixtures is not None else None
    fixture = rule.image if rule is not None and rule.error is None else None
    if job.stream:
        steps = plan_steps(job)
        pictures = [picture("final" if s.partial is None else "partial", s.index, s.partial,
                            stream_image(cache, job, fixture, s.index, s.partial)) for s in steps]  # fmt: skip
        response: Any = {"note": REDRAWN}
    else:
        images = final_images(cache, job, fixture)
        pictures = [picture("final", i, None, data) for i, data in enumerate(images)]
        response = redrawn_answer(job, images, rule.revised_prompt if rule is not None else None, entry)
    return Exhibit("application/json", developed=True, response=response, pictures=pictures)


def redrawn_answer(job: Job, images: list[bytes], revised: str | None, entry: dict[str, Any]) -> Any:
    """The answer a journaled generation got, made again (its base64 left out, as `develop` does); a note for
    URLs, which were signed for the worker's clock."""
    if job.response_format == "url":
        return {"note": REDRAWN}
    try:  # when it was answered: received, plus how long that took
        answered = datetime.fromisoformat(str(entry.get("received_at"))).timestamp()
        created = int(answered + float(entry.get("duration_ms") or 0) / 1000)
    except (TypeError, ValueError):
        created = 0
    document = json.loads(whole_body(answer_tail(job, images, revised=revised), created))
    return {**document, "data": [without_base64(item) for item in document["data"]]}

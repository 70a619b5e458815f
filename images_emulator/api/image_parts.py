"""The image parts of an edit or a variation: found in a multipart form or in a JSON edit's image
references, and checked for what they declare (type, size) before anything is decoded.

These are the structural checks that run inside validation (between `prompt` and `n`, contract
§11); `files_of_edit` / `file_of_variation` then decode what they found (imaging.decode), so
validation gets the decoded inputs it builds the Job with. JSON edits resolve only inline data URLs:
the emulator fetches nothing.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import unquote_to_bytes

from starlette.datastructures import UploadFile

from images_emulator.api.multipart import Form
from images_emulator.contract import errors, file_rules
from images_emulator.contract.catalog import EditRules, ModelSpec
from images_emulator.contract.errors import ApiError
from images_emulator.contract.file_rules import FileRules, edit_file_rules, variation_file_rules
from images_emulator.contract.job import EditInputs, InputImage
from images_emulator.imaging.decode import decode, decode_edit

MAX_IMAGE_URL_CHARS = 20_971_520  # S `ImageRefParam.image_url.maxLength`
OCTET_STREAM = "application/octet-stream"
EXTRAS = ("mask", "markup")  # the single-file parts of an edit, beside its images


@dataclass
class FilePart:
    """One input file, located and checked for type and size but not read yet."""

    label: str  # how messages name it: 'image', 'image[0]', 'images[0]', 'mask'
    name: str  # multipart part name or JSON key: image, image[], mask, images
    filename: str
    content_type: str  # declared media type, lower case, without parameters
    size: int | None  # bytes, when known before reading
    source: Callable[[], BinaryIO]

    def open(self) -> BinaryIO:
        return self.source()


@dataclass
class EditParts:
    images: list[FilePart]
    mask: FilePart | None
    markup: FilePart | None = None


def _media_type(value: str | None) -> str:
    return (value or OCTET_STREAM).split(";")[0].strip().lower() or OCTET_STREAM


def _upload_part(label: str, name: str, upload: UploadFile) -> FilePart:
    return FilePart(
        label=label,
        name=name,
        filename=upload.filename or "",
        content_type=_media_type(upload.content_type),
        size=upload.size,
        source=lambda: upload.file,
    )


def _check_declared(part: FilePart, rules: FileRules) -> None:
    """Declared MIME type, then size when it is already known (contract §5.1, §5.3)."""
    if part.content_type not in rules.mime_types:
        raise file_rules.unsupported_mimetype(part.label, part.content_type, rules.mime_types)
    if part.size is not None and part.size >= rules.max_bytes:
        raise file_rules.file_too_large(part.label, part.size, rules)


def _file_parts(form: Form, *, max_images: int, array_allowed: bool) -> list[tuple[str, str, str | UploadFile]]:
    """(label, part name, value) of every `image` / `image[]` part, or the structural error."""
    found = form.parts("image", "image[]")
    if not found:
        raise errors.missing_parameter("image")
    if not array_allowed and (len(found) > 1 or found[0][0] == "image[]"):
        raise errors.invalid_type("image", "a file", "an array")
    if len(found) > max_images:
        raise errors.array_too_long("image", max_images, len(found))
    single = len(found) == 1 and found[0][0] == "image"
    labelled = [("image" if single else f"image[{i}]", name, value) for i, (name, value) in enumerate(found)]
    for label, _, value in labelled:
        if not isinstance(value, UploadFile):
            raise errors.invalid_type(label, "a file", errors.json_type_name(value))
    return labelled


def edit_parts(form: Form, spec: ModelSpec) -> EditParts:
    """The image, mask and markup parts of a multipart edit for `spec`, type- and size-checked."""
    rules = spec.edits
    assert rules is not None
    found = _file_parts(form, max_images=rules.max_images, array_allowed=rules.array_allowed)
    images = [_upload_part(label, name, value) for label, name, value in found]  # type: ignore[arg-type]
    mask, markup = (_single_file(form, name) for name in EXTRAS)
    return _declared_checked(rules, images, mask, markup)


def _single_file(form: Form, name: str) -> FilePart | None:
    """The one file part called `name` (mask, markup), if any."""
    found = form.parts(name)
    if len(found) > 1:
        raise errors.invalid_type(name, "a file", "an array")
    if not found:
        return None
    value = found[0][1]
    if not isinstance(value, UploadFile):
        raise errors.invalid_type(name, "a file", errors.json_type_name(value))
    return _upload_part(name, name, value)


def _declared_checked(
    rules: EditRules, images: list[FilePart], mask: FilePart | None, markup: FilePart | None
) -> EditParts:
    """The parts, once each declared type and size passes the model's rules (a markup only where the
    model takes one)."""
    if markup is not None and not rules.markup:
        raise errors.unknown_parameter("markup")
    file_rules = edit_file_rules(rules, has_mask=mask is not None)
    for part in images:
        _check_declared(part, file_rules.image)
    if mask is not None:
        _check_declared(mask, file_rules.mask)
    if markup is not None:
        _check_declared(markup, file_rules.markup)
    return EditParts(images, mask, markup)


def variation_part(form: Form, spec: ModelSpec) -> FilePart:
    """The single `image` part of a variation request, type- and size-checked."""
    ((label, name, value),) = _file_parts(form, max_images=1, array_allowed=False)
    part = _upload_part(label, name, value)  # type: ignore[arg-type]
    _check_declared(part, variation_file_rules(spec))
    return part


# --- JSON image references (contract §5.2) -----------------------------------------------------------------


def json_edit_parts(body: dict[str, Any], spec: ModelSpec) -> EditParts:
    """`images` (1..16 `{"image_url": ...}`) and `mask` of a JSON edit; only data URLs are accepted."""
    rules = spec.edits
    assert rules is not None
    refs = body.get("images")  # JSON null means omitted
    if refs is None:
        raise errors.missing_parameter("images")
    if not isinstance(refs, list):
        raise errors.invalid_type("images", "an array", errors.json_type_name(refs))
    if not refs:
        raise ApiError(
            400,
            "Invalid 'images': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param="images",
            code="empty_array",
        )
    if len(refs) > rules.max_images:
        raise errors.array_too_long("images", rules.max_images, len(refs))
    images = [_json_ref(f"images[{i}]", "images", ref) for i, ref in enumerate(refs)]
    mask, markup = (_json_ref(name, name, body[name]) if body.get(name) is not None else None for name in EXTRAS)
    return _declared_checked(rules, images, mask, markup)


def _json_ref(label: str, name: str, ref: Any) -> FilePart:
    """One `ImageRefParam`: exactly one of image_url / file_id, and only data URLs are resolved."""
    if not isinstance(ref, dict):
        raise errors.invalid_type(label, "an object", errors.json_type_name(ref))
    for key in ref:
        if key not in ("image_url", "file_id"):
            raise errors.unknown_parameter(f"{label}.{key}")
    ref = {k: v for k, v in ref.items() if v is not None}
    if "image_url" in ref and "file_id" in ref:
        raise ApiError(
            400,
            f"Invalid '{label}': expected exactly one of 'image_url' or 'file_id', but got both.",
            param=label,
            code="invalid_value",
        )
    if "file_id" in ref:
        file_id = ref["file_id"]
        if not isinstance(file_id, str):
            raise errors.invalid_type(f"{label}.file_id", "a string", errors.json_type_name(file_id))
        raise not_fetched(f"{label}.file_id", "file_id references (Files API uploads)")
    if "image_url" not in ref:
        raise errors.missing_parameter(f"{label}.image_url")
    url = ref["image_url"]
    param = f"{label}.image_url"
    if not isinstance(url, str):
        raise errors.invalid_type(param, "a string", errors.json_type_name(url))
    if len(url) > MAX_IMAGE_URL_CHARS:
        raise errors.string_too_long(param, MAX_IMAGE_URL_CHARS, len(url))
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("http", "https"):
        raise not_fetched(param, "remote image URLs")
    if scheme != "data":
        raise invalid_image_url(param, "expected a base64 data URL such as 'data:image/png;base64,iVBORw0...'")
    return _data_url_part(label, name, param, url)


def _data_url_part(label: str, name: str, param: str, url: str) -> FilePart:
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise invalid_image_url(param, "a data URL needs a ',' between its header and its data")
    fields = [f.strip() for f in header.split(";")]
    is_base64 = fields[-1].lower() == "base64"
    content_type = _media_type(fields[0] or "text/plain")

    def decoded() -> BinaryIO:
        try:
            if is_base64:
                return io.BytesIO(base64.b64decode("".join(payload.split()), validate=True))
            return io.BytesIO(unquote_to_bytes(payload))
        except (binascii.Error, ValueError) as exc:
            raise invalid_image_url(param, "the data URL's base64 payload could not be decoded") from exc

    estimate = len(payload.rstrip("=")) * 3 // 4 if is_base64 else None  # refused early when clearly too big
    return FilePart(label, name, "", content_type, estimate, decoded)


def files_of_edit(parts: EditParts, spec: ModelSpec) -> EditInputs:
    """The decoded files of an edit whose parts passed `edit_parts` / `json_edit_parts` (blocking)."""
    assert spec.edits is not None
    rules = edit_file_rules(spec.edits, has_mask=parts.mask is not None)
    return decode_edit(rules, parts.images, parts.mask, parts.markup)


def file_of_variation(part: FilePart, spec: ModelSpec) -> InputImage:
    """The decoded input of a variation whose part passed `variation_part` (blocking)."""
    return decode(part, variation_file_rules(spec), 0)


# --- errors ------------------------------------------------------------------------------------------------


def not_fetched(param: str, what: str) -> ApiError:
    """JSON edits: the emulator is offline and resolves only inline data URLs."""
    return ApiError(
        400,
        f"Invalid '{param}': this emulator does not fetch {what}. Send the image inline as a base64 data URL "
        "('data:image/png;base64,...') or upload it with multipart/form-data.",
        param=param,
        code="unsupported_image_reference",
    )


def invalid_image_url(param: str, detail: str) -> ApiError:
    return ApiError(400, f"Invalid '{param}': {detail}.", param=param, code="invalid_image_url")

"""Input images of edits and variations: multipart parsing, JSON image references, per-model file rules.

Three steps, in the order the routes call them:

1. `read_form` parses a multipart body with bounded memory: text parts in memory (the whole body is
   capped by `max_body_bytes`, refused with 413 as soon as it grows past it), files spooled to
   temporary files that are closed (deleted) when the `async with` block ends, whatever happens.
   `json_edit_parts` does the same job for the JSON form of edits (`images: [{"image_url": "data:..."}]`).
2. `edit_parts` / `variation_part` / `json_edit_parts` are the cheap structural checks that run inside
   validation (between `prompt` and `n`, contract §11): which parts exist, how many, their declared
   MIME type and byte size. They return `FilePart`s, not decoded yet.
3. `decode_edit` / `decode_variation` (blocking: run them in the threadpool) read each file once to
   digest it, decode it with Pillow and apply the model's image rules (contract §5.3). What is kept is
   an `InputImage` holding the sha256 digest (the render seed needs nothing else) and a working copy
   downscaled to fit `WORKING_BOX`, so memory stays bounded by the number of inputs, not their size.

Wording marked UNVERIFIED below is the emulator's own choice where no source shows the real message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import unquote_to_bytes

from fastapi import Request
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from images_emulator.api.request_body import limited_stream, within
from images_emulator.contract import errors
from images_emulator.contract.catalog import EditRules, ModelSpec, VariationRules
from images_emulator.contract.errors import ApiError
from images_emulator.contract.job import InputImage

MAX_FILES = 64  # file parts parsed at all; more than the model's limit (16) gets the array_above_max_length error
MAX_FIELDS = 100  # text parts
MAX_INPUT_PIXELS = 50_000_000  # emulator policy: bigger images are refused before being decoded
MAX_ASPECT_RATIO = 20  # emulator policy: long side at most 20x the short side (usage stays sane)
WORKING_BOX = 2048  # decoded inputs are kept downscaled to fit this box (outputs are at most 1536 px)
MAX_IMAGE_URL_CHARS = 20_971_520  # S `ImageRefParam.image_url.maxLength`
ALPHA_MODES = ("RGBA", "LA", "L")  # dall-e-2 inputs without a mask, and every mask (contract §5.3)
MASK_MIME_TYPES = ("image/png",)
OCTET_STREAM = "application/octet-stream"
MIME_BY_FORMAT = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "WEBP": "image/webp"}
EXIF_ORIENTATION = 0x0112
# EXIF orientation → the transpose that shows the image upright (as Pillow's ImageOps.exif_transpose).
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SWAPPING = tuple(ORIENTATIONS[k] for k in (5, 6, 7, 8))  # these exchange width and height
CHUNK = 1024 * 1024
EXTRAS = ("mask", "markup")  # the single-file parts of an edit, beside its images


# --- rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRules:
    """What one uploaded file must be, derived from the catalog."""

    max_bytes: int
    mime_types: tuple[str, ...]
    square: bool = False  # width == height (dall-e-2)
    modes: tuple[str, ...] = ()  # Pillow modes accepted; () = any
    legacy: bool = False  # dall-e-2 wording: "Uploaded image must be a PNG and less than 4 MB."
    role: str = "input"  # "input" | "mask" | "markup", as in "Invalid input image - ..."
    transparent_pixels: bool = False  # at least one fully transparent pixel (markup)


@dataclass(frozen=True)
class EditFileRules:
    """The rules for each file of one edit request."""

    image: FileRules
    mask: FileRules
    markup: FileRules


def edit_file_rules(rules: EditRules, *, has_mask: bool) -> EditFileRules:
    """The rules for each input image, the mask and the markup of one edit request."""
    legacy = rules.square_png_with_alpha
    image = FileRules(
        max_bytes=rules.max_bytes,
        mime_types=rules.mime_types,
        square=rules.square_png_with_alpha,
        modes=ALPHA_MODES if rules.square_png_with_alpha and not has_mask else (),
        legacy=legacy,
    )
    mask = FileRules(
        max_bytes=rules.max_bytes, mime_types=MASK_MIME_TYPES, modes=ALPHA_MODES, legacy=legacy, role="mask"
    )
    markup = FileRules(
        max_bytes=rules.max_bytes, mime_types=MASK_MIME_TYPES, role="markup", transparent_pixels=True
    )
    return EditFileRules(image, mask, markup)


def variation_file_rules(rules: VariationRules) -> FileRules:
    """The rules for a variation's input image (dall-e wording)."""
    return FileRules(max_bytes=rules.max_bytes, mime_types=rules.mime_types, square=True, legacy=True)


def _variation_rules(spec: ModelSpec) -> FileRules:
    assert spec.variations is not None, f"{spec.name} takes no variations"
    return variation_file_rules(spec.variations)


# --- multipart parsing ---------------------------------------------------------------------------------


@dataclass
class Form:
    """A parsed multipart body: every part in order (text parts as str, file parts as UploadFile)."""

    items: list[tuple[str, str | UploadFile]]

    @property
    def body(self) -> dict[str, Any]:
        """name → value for validation (a repeated name keeps its last value)."""
        return dict(self.items)

    def parts(self, *names: str) -> list[tuple[str, str | UploadFile]]:
        return [(name, value) for name, value in self.items if name in names]


@asynccontextmanager
async def read_form(request: Request, limit: int, timeout: float | None = None) -> AsyncIterator[Form]:
    """The multipart body of `request` (413 past `limit` bytes, 408 after `timeout` seconds); its
    temporary files are deleted when the block exits."""
    parser = MultiPartParser(
        request.headers,
        limited_stream(request, limit),
        max_files=MAX_FILES,
        max_fields=MAX_FIELDS,
        max_part_size=limit,
    )
    try:
        form = await within(timeout, parser.parse())  # closes its temporary files itself when it fails
    except MultiPartException as exc:
        raise ApiError(
            400,
            f"Could not parse the multipart/form-data body: {exc.message} "
            "Send the parameters as multipart/form-data fields and the images as file parts.",
        ) from exc
    try:
        yield Form(list(form.multi_items()))
    finally:
        await form.close()


# --- file parts (structural checks, inside validation) ----------------------------------------------------


@dataclass
class FilePart:
    """One input file, located and checked for type and size but not read yet."""

    label: str  # how messages name it: 'image', 'image[0]', 'images[0]', 'mask'
    name: str  # multipart part name or JSON key: image, image[], mask, images
    filename: str
    content_type: str  # declared media type, lower case, without parameters
    size: int | None  # bytes, when known before reading
    open: Callable[[], BinaryIO]


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
        open=lambda: upload.file,  # type: ignore[return-value]
    )


def _check_declared(part: FilePart, rules: FileRules) -> None:
    """Declared MIME type, then size when it is already known (contract §5.1, §5.3)."""
    if part.content_type not in rules.mime_types:
        raise unsupported_mimetype(part.label, part.content_type, rules.mime_types)
    if part.size is not None and part.size >= rules.max_bytes:
        raise file_too_large(part, part.size, rules)


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
    _check_declared(part, _variation_rules(spec))
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


# --- decoding (blocking: run in the threadpool) -----------------------------------------------------------


@dataclass(frozen=True)
class EditInputs:
    """The decoded files of one edit."""

    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    markup: InputImage | None = None


def decode_edit(spec: ModelSpec, parts: EditParts) -> EditInputs:
    """Decode and check every input image, the mask and the markup of an edit (contract §5.3, §16):
    the mask and the markup must have the first image's size (after EXIF orientation)."""
    assert spec.edits is not None
    rules = edit_file_rules(spec.edits, has_mask=parts.mask is not None)
    inputs = tuple(decode(part, rules.image, index) for index, part in enumerate(parts.images))
    extras: dict[str, InputImage | None] = {}
    for role, part, part_rules in (("mask", parts.mask, rules.mask), ("markup", parts.markup, rules.markup)):
        extras[role] = None if part is None else decode(part, part_rules, 0)
        extra = extras[role]
        if extra is not None and extra.size != inputs[0].size:
            raise size_mismatch(role, inputs[0].size, extra.size)
    return EditInputs(inputs, extras["mask"], extras["markup"])


def decode_variation(spec: ModelSpec, part: FilePart) -> InputImage:
    return decode(part, _variation_rules(spec), 0)


def decode(part: FilePart, rules: FileRules, index: int) -> InputImage:
    """Read `part` once (digest + size), decode it fully, apply `rules`, keep a bounded working copy."""
    source = part.open()
    source.seek(0)
    digest, size = _digest(source)
    if size >= rules.max_bytes:
        raise file_too_large(part, size, rules)
    source.seek(0)
    try:
        img = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise too_many_pixels(part, rules, None) from exc
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error...)
        raise undecodable(part, rules, index) from exc
    try:
        if MIME_BY_FORMAT.get(img.format or "") not in rules.mime_types:
            raise undecodable(part, rules, index)
        _check_image(part, rules, img)
        transpose = ORIENTATIONS.get(img.getexif().get(EXIF_ORIENTATION, 1))
        original = img.size[::-1] if transpose in SWAPPING else img.size
        working = _working_copy(img, part, rules)
        if transpose is not None:  # as viewers show it: its shape decides usage and `size=auto`
            working = working.transpose(transpose)
    except ApiError:
        raise
    except Exception as exc:
        raise undecodable(part, rules, index) from exc
    finally:
        img.close()
    return InputImage(
        name=part.name,
        filename=part.filename,
        content_type=part.content_type,
        data=digest,
        image=working,
        original_size=original,
    )


def _digest(source: BinaryIO) -> tuple[bytes, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.digest(), size


def _check_image(part: FilePart, rules: FileRules, img: Image.Image) -> None:
    """Header-level rules (nothing decoded yet): pixel count, aspect ratio, square, mode."""
    width, height = img.size
    if width < 1 or height < 1 or width * height > MAX_INPUT_PIXELS:
        raise too_many_pixels(part, rules, (width, height))
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ApiError(
            400,
            f"Invalid {rules.role} image - expected an aspect ratio of at most {MAX_ASPECT_RATIO}:1, "
            f"got {width}x{height} instead.",
            param=part.label,
            code="invalid_image_dimensions",
        )
    if rules.square and width != height:
        raise ApiError(
            400,
            f"Invalid {rules.role} image - expected an image with equal width and height, "
            f"got {width}x{height} instead.",
            param=part.label,
            code="invalid_image_dimensions",
        )
    if rules.modes and img.mode not in rules.modes:
        raise ApiError(
            400,
            f"Invalid {rules.role} image - format must be in {list(rules.modes)}, got {img.mode}.",
            param=part.label,
            code="invalid_image_format",
        )


def _working_copy(img: Image.Image, part: FilePart, rules: FileRules) -> Image.Image:
    """Fully decode `img` and return a detached copy in a common mode that fits WORKING_BOX (checking,
    for a markup, that it has a fully transparent pixel at full resolution)."""
    width, height = img.size
    scale = min(1.0, WORKING_BOX / max(width, height))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if img.format in ("JPEG", "MPO") and scale < 1:
        img.draft(img.mode, target)  # JPEG decodes at 1/2, 1/4 or 1/8 scale directly: less memory
    img.load()  # the whole file really decoded: truncated or corrupt data fails here
    out = _common_mode(img)
    if rules.transparent_pixels and not _has_transparent_pixel(out):
        raise ApiError(
            400,
            f"Invalid {rules.role} image - expected a PNG with transparent pixels, got one without any.",
            param=part.label,
            code="invalid_image_format",
        )
    if out.size != target:
        out = out.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return out.copy() if out is img else out


def _has_transparent_pixel(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema()[0] == 0


def _common_mode(img: Image.Image) -> Image.Image:
    """1/L/LA/RGB/RGBA as they are; palette and premultiplied modes to RGBA; 16/32-bit grey to L."""
    if img.mode in ("1", "L", "LA", "RGB", "RGBA"):
        return img
    if img.mode.startswith(("I", "F")):
        grey = img.convert("F")
        high = grey.getextrema()[1]
        factor = 255 / high if isinstance(high, (int, float)) and high > 255 else 1
        return grey.point(lambda v: v * factor).convert("L")
    if img.mode in ("P", "PA", "La", "RGBa") or "transparency" in img.info:
        return img.convert("RGBA")
    return img.convert("RGB")


# --- errors ------------------------------------------------------------------------------------------------


def unsupported_mimetype(label: str, content_type: str, supported: Sequence[str]) -> ApiError:
    """Contract §5.1 (third-party): the declared part type, not the bytes."""
    return ApiError(
        400,
        f"Invalid file '{label}': unsupported mimetype ('{content_type}'). "
        f"Supported file formats are {errors.quote_list(supported)}.",
        param=label,
        code="unsupported_file_mimetype",
    )


def _legacy_format_error(part: FilePart) -> ApiError:
    """dall-e-2, contract §5.3 (third-party): not a PNG, or 4 MB or more."""
    return ApiError(
        400, "Uploaded image must be a PNG and less than 4 MB.", param=part.label, code="invalid_image_format"
    )


def file_too_large(part: FilePart, size: int, rules: FileRules) -> ApiError:
    if rules.legacy:
        return _legacy_format_error(part)
    limit_mb = rules.max_bytes // (1024 * 1024)
    return ApiError(  # UNVERIFIED wording
        400,
        f"Invalid file '{part.label}': the file is {size} bytes; each image must be smaller than {limit_mb} MB.",
        param=part.label,
        code="image_too_large",
    )


def undecodable(part: FilePart, rules: FileRules, index: int) -> ApiError:
    """The bytes are not an image of an accepted format (wording UNVERIFIED for GPT models)."""
    if rules.legacy:
        return _legacy_format_error(part)
    what = f"the {rules.role}" if rules.role != "input" else f"image {index + 1}"
    return ApiError(
        400,
        f"Invalid image file or mode for {what}, please check your image file.",
        param=part.label,
        code="invalid_image_file",
    )


def too_many_pixels(part: FilePart, rules: FileRules, size: tuple[int, int] | None) -> ApiError:
    """Emulator policy; `size` is None when Pillow's decompression-bomb guard refused the header."""
    got = f"{size[0]}x{size[1]}" if size else "an image far larger than that (refused as a decompression bomb)"
    return ApiError(
        400,
        f"Invalid {rules.role} image - expected an image with at most {MAX_INPUT_PIXELS} pixels, got {got} instead.",
        param=part.label,
        code="invalid_image_dimensions",
    )


def size_mismatch(role: str, image: tuple[int, int], other: tuple[int, int]) -> ApiError:
    """A mask or markup of another size than the first image (wording UNVERIFIED, contract §14)."""
    return ApiError(
        400,
        f"Invalid {role} image - expected an image with the same width and height as the input image "
        f"({image[0]}x{image[1]}), got {other[0]}x{other[1]} instead.",
        param=role,
        code="invalid_image_dimensions",
    )


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

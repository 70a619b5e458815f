"""What each uploaded file of an edit or a variation must be (contract §5.3, §6, §16), and the errors that
say it is not.

The rules derive from the catalog; api/image_parts.py checks what a file declares (type, size) and
imaging/decode.py what it is (format, pixels, mode). Wording marked UNVERIFIED is the emulator's own
choice where no source shows the real message.
"""

from __future__ import annotations

from dataclasses import dataclass

from images_emulator.contract import errors
from images_emulator.contract.catalog import EditRules, ModelSpec
from images_emulator.contract.errors import ApiError

# Emulator policy (6000x6000): bigger images are refused before being decoded, so one decode stays under 150 MB.
MAX_INPUT_PIXELS = 36_000_000
MAX_ASPECT_RATIO = 20  # emulator policy: long side at most 20x the short side (usage stays sane)
ALPHA_MODES = ("RGBA", "LA", "L")  # dall-e-2 inputs without a mask, and every mask (contract §5.3)
MASK_MIME_TYPES = ("image/png",)
MASK_MAX_BYTES = 4 * 1024 * 1024  # every model: "a valid PNG file, less than 4MB" (the SDK's `mask`; contract §16)


@dataclass(frozen=True)
class FileRules:
    """What one uploaded file must be."""

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
        max_bytes=min(rules.max_bytes, MASK_MAX_BYTES),
        mime_types=MASK_MIME_TYPES,
        modes=ALPHA_MODES,
        legacy=legacy,
        role="mask",
    )
    markup = FileRules(
        max_bytes=rules.max_bytes, mime_types=MASK_MIME_TYPES, role="markup", transparent_pixels=True
    )
    return EditFileRules(image, mask, markup)


def variation_file_rules(spec: ModelSpec) -> FileRules:
    """The rules for a variation's input image (dall-e wording)."""
    assert spec.variations is not None, f"{spec.name} takes no variations"
    return FileRules(
        max_bytes=spec.variations.max_bytes, mime_types=spec.variations.mime_types, square=True, legacy=True
    )


# --- errors --------------------------------------------------------------------------------------------------


def unsupported_mimetype(label: str, content_type: str, supported: tuple[str, ...]) -> ApiError:
    """Contract §5.1 (third-party): the declared part type, not the bytes."""
    return ApiError(
        400,
        f"Invalid file '{label}': unsupported mimetype ('{content_type}'). "
        f"Supported file formats are {errors.quote_list(supported)}.",
        param=label,
        code="unsupported_file_mimetype",
    )


def _legacy_format_error(label: str) -> ApiError:
    """dall-e-2, contract §5.3 (third-party): not a PNG, or 4 MB or more."""
    return ApiError(400, "Uploaded image must be a PNG and less than 4 MB.", param=label, code="invalid_image_format")


def file_too_large(label: str, size: int, rules: FileRules) -> ApiError:
    if rules.legacy:
        return _legacy_format_error(label)
    limit_mb = rules.max_bytes // (1024 * 1024)
    what = "each image" if rules.role == "input" else f"the {rules.role}"
    return ApiError(  # UNVERIFIED wording
        400,
        f"Invalid file '{label}': the file is {size} bytes; {what} must be smaller than {limit_mb} MB.",
        param=label,
        code="image_too_large",
    )


def undecodable(label: str, rules: FileRules, index: int) -> ApiError:
    """The bytes are not an image of an accepted format (wording UNVERIFIED for GPT models)."""
    if rules.legacy:
        return _legacy_format_error(label)
    what = f"the {rules.role}" if rules.role != "input" else f"image {index + 1}"
    return ApiError(
        400,
        f"Invalid image file or mode for {what}, please check your image file.",
        param=label,
        code="invalid_image_file",
    )


def too_many_pixels(label: str, rules: FileRules, size: tuple[int, int] | None) -> ApiError:
    """Emulator policy; `size` is None when Pillow's decompression-bomb guard refused the header."""
    got = f"{size[0]}x{size[1]}" if size else "an image far larger than that (refused as a decompression bomb)"
    return ApiError(
        400,
        f"Invalid {rules.role} image - expected an image with at most {MAX_INPUT_PIXELS} pixels, got {got} instead.",
        param=label,
        code="invalid_image_dimensions",
    )


def bad_dimensions(label: str, rules: FileRules, expected: str, size: tuple[int, int]) -> ApiError:
    """`Invalid input image - expected <expected>, got WxH instead.` (contract §5.3)."""
    return ApiError(
        400,
        f"Invalid {rules.role} image - expected {expected}, got {size[0]}x{size[1]} instead.",
        param=label,
        code="invalid_image_dimensions",
    )


def bad_mode(label: str, rules: FileRules, mode: str) -> ApiError:
    """`Invalid input image - format must be in ['RGBA', 'LA', 'L'], got RGB.` (contract §5.3)."""
    return ApiError(
        400,
        f"Invalid {rules.role} image - format must be in {list(rules.modes)}, got {mode}.",
        param=label,
        code="invalid_image_format",
    )


def no_transparent_pixel(label: str, rules: FileRules) -> ApiError:
    return ApiError(
        400,
        f"Invalid {rules.role} image - expected a PNG with transparent pixels, got one without any.",
        param=label,
        code="invalid_image_format",
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

"""OpenAI's error envelope, the wording of its validation errors, and the handlers that emit them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from images_emulator.contract.catalog import SizeProblem, SizeRule, parse_size

INVALID_REQUEST = "invalid_request_error"

NO_API_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username and password. You can "
    "obtain an API key from https://platform.openai.com/account/api-keys."
)
INVALID_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)


class ApiError(Exception):
    """An error answered to the client in OpenAI's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def error_object(self) -> dict[str, Any]:
        """The inner `error` object (all four keys always present)."""
        return {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
            **self.extra,
        }

    def body(self) -> dict[str, Any]:
        return {"error": self.error_object()}


def quote_list(values: Iterable[str], conjunction: str = "and") -> str:
    """`'a', 'b', and 'c'` the way OpenAI lists values (no comma for two, Oxford comma for more)."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    if len(quoted) == 2:
        return f"{quoted[0]} {conjunction} {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", {conjunction} {quoted[-1]}"


def json_type_name(value: Any) -> str:
    """How OpenAI names the JSON type of a value in `but got ... instead`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a file"


def unknown_parameter(name: str) -> ApiError:
    return ApiError(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")


def unsupported_parameter(name: str, why: str) -> ApiError:
    """A parameter the request's other choices rule out, in OpenAI's `unsupported_parameter` form."""
    return ApiError(400, f"Unsupported parameter: '{name}' {why}.", param=name, code="unsupported_parameter")


def missing_parameter(name: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")


def invalid_type(name: str, expected: str, got: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{name}': expected {expected}, but got {got} instead.",
        param=name,
        code="invalid_type",
    )


def unconvertible_string(name: str, expected: str) -> ApiError:
    """A multipart text field that is not a number/boolean (contract §11: no trailing 'instead')."""
    return ApiError(
        400,
        f"Invalid type for '{name}': expected {expected}, but got a string value that could not be "
        f"converted into {expected}.",
        param=name,
        code="invalid_type",
    )


def invalid_value(name: str, value: object, supported: Iterable[str]) -> ApiError:
    return ApiError(
        400,
        f"Invalid value: '{value}'. Supported values are: {quote_list(supported)}.",
        param=name,
        code="invalid_value",
    )


def integer_out_of_range(name: str, value: int, low: int, high: int | None) -> ApiError | None:
    """The above-max / below-min error for `value`, or None when it is within [low, high] (None: no max)."""
    if high is not None and value > high:
        return ApiError(
            400,
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
    if value < low:
        return ApiError(
            400,
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    return None


def string_too_long(name: str, limit: int, length: int) -> ApiError:
    return ApiError(
        400,
        f"Invalid '{name}': string too long. Expected a string with maximum length {limit}, "
        f"but got a string with length {length} instead.",
        param=name,
        code="string_above_max_length",
    )


def array_too_long(name: str, limit: int, count: int) -> ApiError:
    """UNVERIFIED for images: OpenAI's usual wording for arrays."""
    return ApiError(
        400,
        f"Invalid '{name}': array too long. Expected an array with maximum length {limit}, "
        f"but got an array with length {count} instead.",
        param=name,
        code="array_above_max_length",
    )


def empty_string(name: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid '{name}': empty string. Expected a string with minimum length 1, but got an empty string instead.",
        param=name,
        code="empty_string",
    )


def invalid_json() -> ApiError:
    return ApiError(400, INVALID_JSON_MESSAGE)


IMAGE_USER_ERROR = "image_generation_user_error"


def model_not_found(model: str) -> ApiError:
    """The API before 2026-05-12: OpenAI's generic 404 (contract §11), whose `param` is null."""
    return ApiError(404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found")


def model_does_not_exist(model: str) -> ApiError:
    """Today's answer for a retired or unknown image model, `""` included (contract §16)."""
    message = f"The model '{model}' does not exist."
    return ApiError(400, message, type=IMAGE_USER_ERROR, param="model", code="invalid_value")


def unknown_model(model: str, *, today: bool) -> ApiError:
    return model_does_not_exist(model) if today else model_not_found(model)


def plain_list(values: Iterable[str]) -> str:
    """`a, b, and c` without quotes (today's size errors)."""
    return quote_list(values).replace("'", "")


def invalid_size(size: str, sizes: Sequence[str], *, today: bool) -> ApiError:
    """A size outside a fixed-size model's list."""
    if not today:
        return invalid_value("size", size, sizes)
    return ApiError(
        400,
        f"Invalid size '{size}'. Supported sizes are {plain_list(sizes)}.",
        type=IMAGE_USER_ERROR,
        param="size",
        code="invalid_value",
    )


def open_size_error(size: str, problem: SizeProblem, rule: SizeRule, *, today: bool) -> ApiError:
    """A size an open-size model's rule refuses: today's captured wording (the aspect-ratio sentence is
    the emulator's, no capture exists), or the emulator's wording of the API before 2026-05-12."""
    if today:
        ratio = f"1:{rule.max_ratio} and {rule.max_ratio}:1"
        messages = {
            "format": "Expected WIDTHxHEIGHT, for example '1824x1024'.",
            "multiple": f"Invalid size '{size}'. Width and height must both be divisible by {rule.multiple}.",
            "edge": f"The longest edge must be less than or equal to {rule.max_edge}.",
            "ratio": f"Invalid size '{size}'. The aspect ratio must be between {ratio}.",
            "too_small": "Requested resolution is below the current minimum pixel budget.",
            "too_large": f"Invalid size '{size}'. Requested resolution exceeds the current pixel budget.",
        }
        return ApiError(400, messages[problem], type=IMAGE_USER_ERROR, param="size", code="invalid_value")
    dims = parse_size(size)
    pixels = f"{dims[0] * dims[1]:,}" if dims else ""
    legacy = {
        "format": "Size must be 'auto' or WIDTHxHEIGHT in pixels, e.g. '1024x1024'.",
        "multiple": f"Width and height must be multiples of {rule.multiple}.",
        "edge": f"The longest edge must be at most {rule.max_edge} pixels.",
        "ratio": f"The ratio of the longest to the shortest edge must be at most {rule.max_ratio}:1.",
        "too_small": f"The total number of pixels must be between {rule.min_pixels:,} and {rule.max_pixels:,}, "
        f"but got {pixels}.",
    }
    legacy["too_large"] = legacy["too_small"]
    return ApiError(400, f"Invalid value: '{size}'. {legacy[problem]}", param="size", code="invalid_value")


def no_api_key() -> ApiError:
    return ApiError(401, NO_API_KEY_MESSAGE)


MASK_SHORT_KEYS = 12  # keys shorter than this show nothing of themselves
MASK_PREFIX_KEYS = 20  # keys at least this long also show their prefix; shorter ones show at most 4 characters


def mask_key(key: str) -> str:
    """`sk-proj-****wxyz`: OpenAI shows the key's prefix and last four characters. A short key shows at
    most its last four (none below MASK_SHORT_KEYS), so that a mask never gives most of a key away."""
    if len(key) < MASK_SHORT_KEYS:
        return "****"
    if len(key) < MASK_PREFIX_KEYS:
        return f"****{key[-4:]}"
    prefix = key[:8] if key.startswith("sk-proj-") else key[:3]
    return f"{prefix}{'*' * 4}{key[-4:]}"


def invalid_api_key(key: str) -> ApiError:
    return ApiError(
        401,
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def invalid_url(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})")


def method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(405, f"Invalid method for URL ({method} {path})")


SERVER_ERROR_MESSAGE = (
    "The server had an error processing your request. Sorry about that! You can retry your request, or "
    "contact us through our help center at help.openai.com if you keep seeing this error. "
    "(Please include the request ID {request_id} in your email.)"
)


def server_error(request_id: str) -> ApiError:
    return ApiError(500, SERVER_ERROR_MESSAGE.format(request_id=request_id), type="server_error")


def store_unavailable(detail: str) -> ApiError:
    """A harness call (journal, faults, resets) while the harness's store cannot be reached."""
    return ApiError(
        503,
        f"The emulator's harness state is unavailable: {detail}. Image requests still work; this call can be "
        "retried once the store is back.",
        type="server_error",
        code="store_unavailable",
        headers={"retry-after": "1"},
    )


CLIENT_CLOSED = 499  # nginx's "client closed request": no one reads the answer; the journal records it


def client_closed() -> ApiError:
    """The client went away while its request was held (a `timeout` fault, simulated latency)."""
    return ApiError(CLIENT_CLOSED, "The client closed the connection before the answer.", code="client_closed_request")

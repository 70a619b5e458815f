"""Offline o200k_base prompt tokenizer (contract §8.3: the real tokenizer is UNVERIFIED).

`tiktoken.get_encoding("o200k_base")` downloads its vocabulary, so we build the same `Encoding`
from the copy shipped in `images_emulator/contract/data/o200k_base.tiktoken.gz`. The vocabulary is loaded lazily,
once per process, and its sha256 is checked against tiktoken's published hash.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from importlib.resources import files

import tiktoken

ENCODING_NAME = "o200k_base"
VOCAB_RESOURCE = ("data", "o200k_base.tiktoken.gz")
# sha256 of the *uncompressed* file, as in tiktoken_ext/openai_public.py (`expected_hash`).
VOCAB_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

# Copied verbatim from tiktoken_ext/openai_public.py `o200k_base()` (tiktoken 0.14).
ENDOFTEXT = "<|endoftext|>"
ENDOFPROMPT = "<|endofprompt|>"
SPECIAL_TOKENS: dict[str, int] = {ENDOFTEXT: 199999, ENDOFPROMPT: 200018}
PAT_STR = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

_lock = threading.Lock()
_encoding: tiktoken.Encoding | None = None


def read_vocab() -> bytes:
    """The uncompressed `.tiktoken` vocabulary shipped with the package, hash-checked."""
    resource = files("images_emulator.contract")
    for part in VOCAB_RESOURCE:
        resource = resource / part
    data = gzip.decompress(resource.read_bytes())
    digest = hashlib.sha256(data).hexdigest()
    if digest != VOCAB_SHA256:
        raise RuntimeError(f"{'/'.join(VOCAB_RESOURCE)} is corrupt: sha256 {digest}, expected {VOCAB_SHA256}")
    return data


def parse_vocab(data: bytes) -> dict[bytes, int]:
    """Parse `<base64 token> <rank>` lines into tiktoken's mergeable ranks."""
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if not line:
            continue
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _build_encoding() -> tiktoken.Encoding:
    encoding = tiktoken.Encoding(
        name=ENCODING_NAME,
        pat_str=PAT_STR,
        mergeable_ranks=parse_vocab(read_vocab()),
        special_tokens=SPECIAL_TOKENS,
    )
    # The encoder lives in tiktoken's Rust core; its Python copy of the 200k ranks (about 30 MB) is only
    # kept for pickling, which nothing here does.
    encoding._mergeable_ranks = {}
    return encoding


def get_encoding() -> tiktoken.Encoding:
    """The process-wide o200k_base `Encoding`, built on first use (thread-safe, never networked)."""
    global _encoding
    encoding = _encoding
    if encoding is None:
        with _lock:
            if _encoding is None:
                _encoding = _build_encoding()
            encoding = _encoding
    return encoding


def _count(encoding: tiktoken.Encoding, text: str) -> int:
    # `encode` (unlike `encode_ordinary`, which panics) reports a regex backtracking overflow as
    # ValueError; that only happens for ~1M-char whitespace runs. Then count the halves separately:
    # the total may differ by a token or so at the cut, which is fine for such input.
    try:
        return len(encoding.encode(text, allowed_special=set(), disallowed_special=()))
    except ValueError:
        if len(text) < 2:
            raise
        middle = len(text) // 2
        return _count(encoding, text[:middle]) + _count(encoding, text[middle:])


def count_tokens(text: str) -> int:
    """Number of o200k_base tokens in `text`; special-token text counts as ordinary text.

    Never raises for a `str`: lone surrogates are replaced by U+FFFD (tiktoken's own fallback).
    """
    return _count(get_encoding(), text)

"""Offline o200k_base prompt tokenizer (contract §8.3: the real tokenizer is UNVERIFIED).

The same byte-pair encoding as `tiktoken.get_encoding("o200k_base")` (which downloads its vocabulary), built
from the copy shipped in `images_emulator/contract/data/o200k_base.tiktoken.gz`, hash-checked against tiktoken's
published sha256. The 199,998 tokens live in three flat arrays (about 5 MiB, where tiktoken's tables take
about 43 MiB per process); the vocabulary is loaded lazily, once per process. `tests/test_tokenizer.py`
checks every answer against tiktoken itself.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import heapq
import threading
from array import array
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from itertools import accumulate, pairwise

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
# Code points that Python's `regex` (Unicode 17) files under a letter, mark or number class and tiktoken's Rust
# regex (Unicode 16) does not know: tiktoken splits them like unassigned ones, and so do we. Found by comparing
# both on every code point (`python tests/unknown_code_points.py`, again after upgrading regex or tiktoken);
# tests/test_tokenizer.py keeps checking a sample.
UNKNOWN_TO_TIKTOKEN = """
    0558 058B-058C 05C8-05C9 088F 0B53-0B54 0C5C 0CDC 1ACF-1AF0 208F 209D-209F A7CE-A7CF A7D2 A7D4 A7DD A7E2
    A7F1 AB6C-AB6D 107BB-107BF 10940-10959 10EC5-10EC7 10ECB-10ECF 10ED9-10EEE 10EF0-10EFB 11B0A 11B60-11B67
    11DB0-11DDB 11DE0-11DE9 11DF0-11DF1 1246F 12475-1247F 12550-12686 16EA0-16EB8 16EBB-16ED3 16FF2-16FF6
    187F8-187FF 18CD6-18CDA 18D09-18D20 18D80-18DF2 18E00-19191 191A0-191D2 1B123-1B128 1B168 1D127-1D128
    1D250-1D252 1D25B-1D25C 1D25F 1D280-1D281 1D6A6 1DF1F-1DF24 1DF2B-1DF81 1DF90-1DF96 1DFCD-1DFFF
    1E6C0-1E6DE 1E6E0-1E6F5 1E6FE-1E6FF 2B73A-2B73F 2B81E 2CEA2-2CEAD 323B0-33479 3D000-3FC3F
"""
# Prompts up to this length have their count remembered (at most CACHED_PROMPTS of them: 1-4 MiB of text).
CACHED_PROMPT_CHARS = 1024
CACHED_PROMPTS = 1024
NOT_A_TOKEN = -1


def unknown_code_points() -> list[tuple[int, int]]:
    """UNKNOWN_TO_TIKTOKEN as (first, last) code point ranges."""
    bounds = (item.split("-") for item in UNKNOWN_TO_TIKTOKEN.split())
    return [(int(pair[0], 16), int(pair[-1], 16)) for pair in bounds]


def tiktoken_pattern() -> str:
    """PAT_STR with every Unicode property class less the code points tiktoken does not know."""
    import regex  # here, not at the top: the vocabulary is built after start-up, and regex takes 15 ms to import
    unknown = "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in unknown_code_points())
    return "(?V1)" + regex.sub(r"\\p\{\w+\}", lambda match: f"[{match.group(0)}--[{unknown}]]", PAT_STR)


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


def parse_vocab(data: bytes) -> list[bytes]:
    """The tokens of `<base64 token> <rank>` lines, indexed by rank (the file lists ranks 0, 1, 2, ... in order)."""
    fields = data.split()
    ranks = fields[1::2]
    if ranks and (int(ranks[0]) != 0 or int(ranks[-1]) != len(ranks) - 1):
        raise RuntimeError("the vocabulary's ranks are not 0, 1, 2, ... in order")
    return [base64.b64decode(token) for token in fields[0::2]]


class Vocabulary:
    """Token bytes to rank: one blob of all tokens, their offsets, and an open-addressing hash table.

    A Python dict of the same 200k tokens takes about 30 MiB; these arrays take about 5 MiB. The table is
    keyed by `hash(bytes)`, which is salted per process, so each process builds its own. The two-byte tokens
    are in a dict too (`pairs`, 4,653 of them): every merge starts by looking up each byte pair.
    """

    __slots__ = ("_blob", "_mask", "_offsets", "_slots", "pairs")

    def __init__(self, blob: bytes, offsets: array[int]) -> None:
        """`blob` holds every token, the one of rank r at `blob[offsets[r]:offsets[r + 1]]`."""
        self._blob = blob
        self._offsets = offsets
        count = len(offsets) - 1
        size = 1 << max(4, (count * 2).bit_length())  # load factor at most 1/2: short probes
        self._mask = mask = size - 1
        slots = array("i", [0]) * size
        self.pairs: dict[bytes, int] = {}
        for rank in range(count):
            token = self.token(rank)
            slot = hash(token) & mask
            while slots[slot]:
                slot = (slot + 1) & mask
            slots[slot] = rank + 1  # 0 marks an empty slot
            if len(token) == 2:
                self.pairs[token] = rank
        self._slots = slots

    @classmethod
    def of(cls, tokens: list[bytes]) -> Vocabulary:
        """The vocabulary of `tokens`, indexed by rank."""
        blob, offsets = b"".join(tokens), array("I", accumulate(map(len, tokens), initial=0))
        del tokens  # the caller's only reference: its 200k small objects go before the table's are made
        return cls(blob, offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def rank(self, token: bytes) -> int:
        """The token's rank, or NOT_A_TOKEN."""
        slots, offsets, blob, mask = self._slots, self._offsets, self._blob, self._mask
        slot = hash(token) & mask
        size = len(token)
        while entry := slots[slot]:
            start = offsets[entry - 1]
            if offsets[entry] - start == size and blob.startswith(token, start):
                return entry - 1
            slot = (slot + 1) & mask
        return NOT_A_TOKEN

    def token(self, rank: int) -> bytes:
        """The bytes of the token of `rank`."""
        return self._blob[self._offsets[rank] : self._offsets[rank + 1]]


class Encoding:
    """o200k_base as tiktoken's `Encoding.encode(text, disallowed_special=())` sees it: special-token text is
    ordinary text, and lone surrogates become U+FFFD (tiktoken's own fallback)."""

    name = ENCODING_NAME

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._vocabulary = vocabulary
        import regex

        self._split = regex.compile(tiktoken_pattern()).findall
        self.n_vocab = max(len(vocabulary), *SPECIAL_TOKENS.values()) + 1

    def encode(self, text: str) -> list[int]:
        """The token ids of `text`."""
        rank = self._vocabulary.rank
        ids: list[int] = []
        for piece in self._pieces(text):
            whole = rank(piece)
            if whole != NOT_A_TOKEN:
                ids.append(whole)
            else:
                bounds = _merge(piece, rank, self._vocabulary.pairs)
                ids.extend(rank(piece[start:end]) for start, end in pairwise(bounds))
        return ids

    def count(self, text: str) -> int:
        """The number of tokens in `text` (as `len(self.encode(text))`, without building the list)."""
        rank, pairs = self._vocabulary.rank, self._vocabulary.pairs
        total = 0
        for piece in self._pieces(text):
            total += 1 if rank(piece) != NOT_A_TOKEN else len(_merge(piece, rank, pairs)) - 1
        return total

    def _pieces(self, text: str) -> list[bytes]:
        """The UTF-8 pieces the pre-tokenizer splits `text` into."""
        try:
            return [piece.encode() for piece in self._split(text)]
        except UnicodeEncodeError:
            # tiktoken's fallback: surrogate pairs are joined, lone surrogates become U+FFFD.
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return [piece.encode() for piece in self._split(text)]


def _merge(piece: bytes, lookup: Callable[[bytes], int], pairs: dict[bytes, int]) -> list[int]:
    """The token boundaries of `piece` (0 first, len(piece) last) by byte-pair merging.

    The same merges as tiktoken's `_byte_pair_merge`: always the adjacent pair whose concatenation has the
    lowest rank, the leftmost of equal ones. A heap keeps it O(n log n), so a 32k-letter word takes
    a fraction of a second where the quadratic scan would take minutes in Python.
    """
    size = len(piece)
    following = list(range(1, size + 1))  # following[i]: where the part starting at i ends
    preceding = list(range(-1, size - 1))
    pair = [NOT_A_TOKEN] * size  # pair[i]: rank of the part at i joined with the next one
    heap: list[tuple[int, int]] = []
    for start in range(size - 1):
        joined = pairs.get(piece[start : start + 2], NOT_A_TOKEN)
        if joined != NOT_A_TOKEN:
            pair[start] = joined
            heap.append((joined, start))
    heapq.heapify(heap)
    while heap:
        joined, start = heapq.heappop(heap)
        if pair[start] != joined:
            continue  # stale: the part at `start` changed (or was merged away) since this was pushed
        absorbed = following[start]
        end = following[start] = following[absorbed]
        pair[absorbed] = NOT_A_TOKEN
        if end < size:
            preceding[end] = start
            pair[start] = lookup(piece[start : following[end]])
            if pair[start] != NOT_A_TOKEN:
                heapq.heappush(heap, (pair[start], start))
        else:
            pair[start] = NOT_A_TOKEN
        before = preceding[start]
        if before >= 0:
            pair[before] = lookup(piece[before:end])
            if pair[before] != NOT_A_TOKEN:
                heapq.heappush(heap, (pair[before], before))
    bounds = [0]
    while bounds[-1] < size:
        bounds.append(following[bounds[-1]])
    return bounds


_lock = threading.Lock()
_encoding: Encoding | None = None


def get_encoding() -> Encoding:
    """The process-wide o200k_base `Encoding`, built on first use (thread-safe, never networked)."""
    global _encoding
    encoding = _encoding
    if encoding is None:
        with _lock:
            if _encoding is None:
                # `of` drops the 200k parsed tokens before the table is built, so their memory goes back whole.
                _encoding = Encoding(Vocabulary.of(parse_vocab(read_vocab())))
            encoding = _encoding
    return encoding


@lru_cache(maxsize=CACHED_PROMPTS)
def _count_remembered(text: str) -> int:
    return get_encoding().count(text)


def count_tokens(text: str) -> int:
    """Number of o200k_base tokens in `text`; special-token text counts as ordinary text. Never raises for a `str`."""
    if len(text) <= CACHED_PROMPT_CHARS:
        return _count_remembered(text)
    return get_encoding().count(text)

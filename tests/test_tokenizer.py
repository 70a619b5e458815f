"""The offline o200k_base tokenizer: the same tokens as tiktoken's own, robustness, and no network access."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from unittest import mock

import pytest
import tiktoken
import tiktoken_ext.openai_public as openai_public

import images_emulator.contract.tokenizer as tokenizer
from images_emulator.contract.tokenizer import count_tokens, get_encoding

REPO_ROOT = Path(tokenizer.__file__).resolve().parents[1]
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"

# Strings whose tokenization is cross-checked against tiktoken's own o200k_base constructor.
CORPUS = [
    "",
    "hello world",
    "A photorealistic image of a cat wearing a tiny wizard hat, studio lighting.",
    "<|endoftext|> and <|endofprompt|> are plain text here",
    "Ünïcödé — 日本語のテキスト, 한국어, العربية, emoji 😀👩‍👩‍👧",
    "  leading and trailing spaces  \n\n\ttabs\r\nCRLF",
    "numbers 1234567890 3.14159 1e-9",
    "don't we'll they're I'M YOU'VE",
    "\x00\x01\x7f",
    "a" * 32_000,  # one piece of the longest prompt: 31,999 merges
    "\u0905" * 32_000,
]


@pytest.fixture(scope="module")
def official() -> tiktoken.Encoding:
    """tiktoken's own o200k_base encoder, over the shipped vocabulary (tiktoken's constructor, no download)."""
    ranks = {token: rank for rank, token in enumerate(tokenizer.parse_vocab(tokenizer.read_vocab()))}
    return tiktoken.Encoding(
        name=tokenizer.ENCODING_NAME,
        pat_str=tokenizer.PAT_STR,
        mergeable_ranks=ranks,
        special_tokens=tokenizer.SPECIAL_TOKENS,
    )


def _tiktoken_ids(official: tiktoken.Encoding, text: str) -> list[int]:
    return official.encode(text, allowed_special=set(), disallowed_special=())


def _random_text(rng: random.Random, length: int) -> str:
    """Text mixing ASCII, the BMP, the supplementary planes, whitespace and the pre-tokenizer's edge cases."""
    kinds = [
        lambda: chr(rng.randrange(0x20, 0x7F)),
        lambda: chr(rng.randrange(0x80, 0xD800)),
        lambda: chr(rng.randrange(0x10000, 0x40000)),
        lambda: rng.choice(" \n\r\t\xa0\u3000"),
        lambda: rng.choice(["the ", "Cat", "'s", "'LL", "'Re", "1234", "😀", "  ", "\u0301", "///", "\r\n"]),
    ]
    return "".join(rng.choice(kinds)() for _ in range(length))


def test_hello_world_ids() -> None:
    assert get_encoding().encode("hello world") == [24912, 2375]
    assert count_tokens("hello world") == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 1),
        ("hello world", 2),
        (" world", 1),
        ("0123456789", 4),  # digits are split in runs of at most 3: 012|345|678|9
        ("😀", 1),
        ("\x00", 1),  # every single byte is a token
    ],
)
def test_known_counts(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


def test_special_tokens_are_ordinary_text(official: tiktoken.Encoding) -> None:
    assert get_encoding().encode("<|endoftext|>") == official.encode_ordinary("<|endoftext|>")
    assert 199999 not in get_encoding().encode("<|endoftext|>")
    assert count_tokens("<|endofprompt|>") > 1


@pytest.mark.parametrize("text", CORPUS, ids=lambda s: f"len{len(s)}:{s[:8]!r}")
def test_same_ids_as_tiktoken(official: tiktoken.Encoding, text: str) -> None:
    assert get_encoding().encode(text) == _tiktoken_ids(official, text)
    assert count_tokens(text) == get_encoding().count(text) == len(_tiktoken_ids(official, text))


def test_random_text_has_the_same_ids_as_tiktoken(official: tiktoken.Encoding) -> None:
    rng = random.Random(20261203)
    texts = [_random_text(rng, rng.randrange(0, 120)) for _ in range(1500)]
    differing = [text for text in texts if get_encoding().encode(text) != _tiktoken_ids(official, text)]
    assert differing == []


def class_contexts(char: str) -> list[str]:
    # Each shows how the pre-tokenizer classes `char`: a letter takes the "'s", a number splits from
    # letters and other numbers in runs of 3, a mark joins a letter, the rest join punctuation.
    return [f"{char}'s", f"a{char}a", f" {char}", f"1{char}1", f"{char}A", f"A{char}", f"{char}\u0301", char * 2]


def _code_points_sample() -> list[int]:
    """Every code point tiktoken does not know, the ones on each side of those ranges, and 4,000 others."""
    chosen = set()
    for first, last in tokenizer.unknown_code_points():
        chosen.update(range(first - 1, last + 2))
    rng = random.Random(17)
    chosen.update(rng.randrange(0x110000) for _ in range(4000))
    return sorted(cp for cp in chosen if not 0xD800 <= cp < 0xE000)


def test_unicode_classes_are_tiktokens(official: tiktoken.Encoding) -> None:
    # Python's regex knows Unicode 17, tiktoken's Rust regex Unicode 16: the code points new in 17 must split
    # as tiktoken splits them (as unassigned), and no other code point may differ. (Checked on all 1.1M code
    # points once when UNKNOWN_TO_TIKTOKEN was made.)
    differing = [
        hex(cp)
        for cp in _code_points_sample()
        if any(get_encoding().encode(text) != _tiktoken_ids(official, text) for text in class_contexts(chr(cp)))
    ]
    assert differing == []


@pytest.mark.parametrize(
    "text",
    [
        "\ud800",
        "\udfff\ud800x",
        "a\ud83dz",
        "\x00" * 100,
        "😀" * 10_000,
        "a" * 40_000,
        " " * 40_000,
        "x " * 20_000,
        " " * 39_999 + "x",
        "\n" * 40_000,
    ],
    ids=lambda s: f"len{len(s)}:{s[:3]!r}",
)
def test_never_raises(text: str) -> None:
    assert count_tokens(text) >= 1


def test_lone_surrogate_counts_as_replacement_char() -> None:
    assert count_tokens("\ud800") == count_tokens("\ufffd")


def test_constants_match_tiktoken_o200k_base() -> None:
    with mock.patch.object(openai_public, "load_tiktoken_bpe", return_value={}) as load:
        official = openai_public.o200k_base()
    assert official["name"] == tokenizer.ENCODING_NAME
    assert official["pat_str"] == tokenizer.PAT_STR
    assert official["special_tokens"] == tokenizer.SPECIAL_TOKENS
    assert load.call_args.kwargs["expected_hash"] == tokenizer.VOCAB_SHA256
    assert load.call_args.args[0] == O200K_URL


def test_vocab_hash_and_size() -> None:
    data = tokenizer.read_vocab()
    assert hashlib.sha256(data).hexdigest() == tokenizer.VOCAB_SHA256
    tokens = tokenizer.parse_vocab(data)
    assert len(tokens) == len(set(tokens)) == 199998
    assert len(tokenizer.Vocabulary.of(tokens)) == 199998
    assert get_encoding().n_vocab == 200019


def test_out_of_order_vocab_is_rejected() -> None:
    with pytest.raises(RuntimeError, match="in order"):
        tokenizer.parse_vocab(b"IQ== 1\nIg== 0\n")


def test_corrupt_vocab_is_rejected() -> None:
    with (
        mock.patch.object(tokenizer.gzip, "decompress", return_value=b"IQ== 0\n"),
        pytest.raises(RuntimeError, match="corrupt"),
    ):
        tokenizer.read_vocab()


def test_loaded_once_across_threads() -> None:
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(get_encoding())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result is results[0] for result in results)


def _run_offline(code: str, cache_dir: Path) -> str:
    """Run `code` in a fresh interpreter with sockets and tiktoken's downloader disabled."""
    prelude = textwrap.dedent(
        """
        import socket, sys, tiktoken.load

        def _no_network(*args, **kwargs):
            raise AssertionError("network access attempted")

        socket.socket.connect = _no_network
        socket.socket.connect_ex = _no_network
        socket.create_connection = _no_network
        socket.getaddrinfo = _no_network
        tiktoken.load.read_file = _no_network
        """
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("DATA_GYM_CACHE_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_works_offline_without_tiktoken(tmp_path: Path) -> None:
    out = _run_offline(
        """
        sys.modules["tiktoken"] = None  # importing it now fails: the server must not need it
        from images_emulator.contract.tokenizer import count_tokens
        print(count_tokens("hello world"), count_tokens("<|endoftext|>"))
        """,
        tmp_path,
    )
    assert out.split() == ["2", str(count_tokens("<|endoftext|>"))]
    assert list(tmp_path.iterdir()) == []


def test_matches_official_tiktoken_encoding(tmp_path: Path) -> None:
    # Prime tiktoken's cache with our (hash-verified) vocabulary so that the *official*
    # `tiktoken.get_encoding("o200k_base")` loads offline, then compare token ids.
    cache_key = hashlib.sha1(O200K_URL.encode()).hexdigest()
    (tmp_path / cache_key).write_bytes(tokenizer.read_vocab())
    corpus = tmp_path.parent / f"{tmp_path.name}-corpus.json"
    corpus.write_text(json.dumps(CORPUS))
    out = _run_offline(
        f"""
        import json, tiktoken
        enc = tiktoken.get_encoding("o200k_base")
        corpus = json.loads(open({str(corpus)!r}).read())
        print(json.dumps([enc.encode(t, disallowed_special=()) for t in corpus]))
        """,
        tmp_path,
    )
    ours = [get_encoding().encode(text) for text in CORPUS]
    assert json.loads(out) == ours

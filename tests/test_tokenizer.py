"""The offline o200k_base tokenizer: correctness, robustness, and no network access."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from unittest import mock

import pytest
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
]


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


def test_special_tokens_are_ordinary_text() -> None:
    encoding = get_encoding()
    assert count_tokens("<|endoftext|>") == len(encoding.encode_ordinary("<|endoftext|>")) > 1
    assert 199999 not in encoding.encode("<|endoftext|>", disallowed_special=())
    assert count_tokens("<|endofprompt|>") > 1


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


def test_huge_whitespace_run_falls_back_instead_of_raising() -> None:
    # tiktoken's regex overflows its backtracking stack on ~1M whitespace followed by a non-space.
    text = " " * 1_000_000 + "x"
    with pytest.raises(ValueError):
        get_encoding().encode(text, disallowed_special=())
    assert 0 < count_tokens(text) < 10_000


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
    ranks = tokenizer.parse_vocab(data)
    assert len(ranks) == 199998
    assert sorted(ranks.values()) == list(range(199998))
    assert get_encoding().n_vocab == 200019


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
        import socket, tiktoken.load

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


def test_works_offline_with_empty_tiktoken_cache(tmp_path: Path) -> None:
    out = _run_offline(
        """
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
    out = _run_offline(
        f"""
        import json, tiktoken
        enc = tiktoken.get_encoding("o200k_base")
        corpus = json.loads({json.dumps(json.dumps(CORPUS))})
        print(json.dumps([enc.encode(t, disallowed_special=()) for t in corpus]))
        """,
        tmp_path,
    )
    ours = [get_encoding().encode(text, disallowed_special=()) for text in CORPUS]
    assert json.loads(out) == ours

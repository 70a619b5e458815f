"""Regenerate `contract/tokenizer.UNKNOWN_TO_TIKTOKEN`: the code points where our pre-tokenizer, with tiktoken's
pattern as written, splits differently from tiktoken's own encoder (Python's regex and tiktoken's Rust regex
know different Unicode versions). Run `python tests/unknown_code_points.py` after upgrading regex or tiktoken
(about 3 minutes here) and paste what it prints; tests/test_tokenizer.py checks a sample of the result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import regex

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from test_tokenizer import class_contexts  # noqa: E402

from images_emulator.contract import tokenizer  # noqa: E402


def main() -> None:
    import tiktoken

    tokens = tokenizer.parse_vocab(tokenizer.read_vocab())
    official = tiktoken.Encoding(
        name=tokenizer.ENCODING_NAME,
        pat_str=tokenizer.PAT_STR,
        mergeable_ranks={token: rank for rank, token in enumerate(tokens)},
        special_tokens=tokenizer.SPECIAL_TOKENS,
    )
    ours = tokenizer.Encoding(tokenizer.Vocabulary.of(tokens))
    ours._split = regex.compile(tokenizer.PAT_STR).findall  # the pattern as tiktoken has it: no exclusions
    ranges: list[list[int]] = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        texts = class_contexts(chr(cp))
        if any(ours.encode(text) != official.encode(text, disallowed_special=()) for text in texts):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    print(" ".join(f"{first:04X}" if first == last else f"{first:04X}-{last:04X}" for first, last in ranges))


if __name__ == "__main__":
    main()

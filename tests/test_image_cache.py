"""ImageCache: LRU by bytes, oversized entries, single-flight creation, disabled cache."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from images_emulator.imaging.cache import ImageCache, key_bytes


class CountingFactory:
    """A factory that counts its calls (thread-safe) and can be slow."""

    def __init__(self, value: bytes, delay: float = 0.0) -> None:
        self.value, self.delay, self.calls = value, delay, 0
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return self.value


def test_get_or_create_calls_the_factory_once_then_serves_from_cache() -> None:
    cache = ImageCache(1000)
    factory = CountingFactory(b"x" * 10)
    assert cache.get_or_create("k", factory) == b"x" * 10
    assert cache.get_or_create("k", factory) == b"x" * 10
    assert factory.calls == 1
    assert cache.get("k") == b"x" * 10
    assert (len(cache), cache.size_bytes) == (1, 10 + key_bytes("k"))


def test_get_of_missing_key_is_none() -> None:
    assert ImageCache(100).get("nope") is None


def test_lru_evicts_least_recently_used_entries_by_bytes() -> None:
    cache = ImageCache(100)
    cache.put("a", b"a" * 40)
    cache.put("b", b"b" * 40)
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", b"c" * 40)
    assert cache.get("b") is None
    assert cache.get("a") == b"a" * 40
    assert cache.get("c") == b"c" * 40
    assert (len(cache), cache.size_bytes) == (2, 80 + key_bytes("a") + key_bytes("c"))


def test_one_large_entry_evicts_several_small_ones() -> None:
    cache = ImageCache(100)
    for key in "abcde":
        cache.put(key, b"." * 20)
    cache.put("big", b"#" * 90)
    assert [k for k in "abcde" if cache.get(k) is not None] == []
    assert (len(cache), cache.size_bytes) == (1, 90 + key_bytes("big"))


def test_entry_exactly_max_bytes_is_stored() -> None:
    cache = ImageCache(50)
    cache.put("k", b"x" * (50 - key_bytes("k")))
    assert cache.size_bytes == 50


def test_oversized_entry_is_returned_but_not_stored() -> None:
    cache = ImageCache(100)
    cache.put("small", b"s" * 10)
    factory = CountingFactory(b"x" * 101)
    assert cache.get_or_create("huge", factory) == b"x" * 101
    assert cache.get("huge") is None
    assert cache.get("small") == b"s" * 10  # nothing was evicted for it
    cache.put("huge", b"x" * 101)
    assert (len(cache), cache.size_bytes) == (1, 10 + key_bytes("small"))


def test_put_replaces_a_value_and_keeps_the_size_right() -> None:
    cache = ImageCache(100)
    cache.put("k", b"x" * 30)
    cache.put("k", b"y" * 50)
    assert cache.get("k") == b"y" * 50
    assert (len(cache), cache.size_bytes) == (1, 50 + key_bytes("k"))
    cache.put("k", b"z" * 500)  # too big: the old value is dropped too
    assert (len(cache), cache.size_bytes) == (0, 0)


def test_concurrent_callers_with_the_same_key_share_one_factory_call() -> None:
    cache = ImageCache(1000)
    factory = CountingFactory(b"rendered", delay=0.2)
    start = threading.Barrier(8)

    def call(_: int) -> bytes:
        start.wait()
        return cache.get_or_create("same", factory)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert results == [b"rendered"] * 8
    assert factory.calls == 1


def test_different_keys_are_created_in_parallel() -> None:
    cache = ImageCache(1000)
    a_started, b_started = threading.Event(), threading.Event()

    def make_a() -> bytes:
        a_started.set()
        assert b_started.wait(5), "creation of 'b' was blocked by 'a'"
        return b"a"

    def make_b() -> bytes:
        b_started.set()
        assert a_started.wait(5), "creation of 'a' was blocked by 'b'"
        return b"b"

    with ThreadPoolExecutor(2) as pool:
        fa = pool.submit(cache.get_or_create, "a", make_a)
        fb = pool.submit(cache.get_or_create, "b", make_b)
        assert (fa.result(10), fb.result(10)) == (b"a", b"b")


def test_factory_error_reaches_every_waiter_and_is_not_cached() -> None:
    cache = ImageCache(1000)
    calls = 0
    start = threading.Barrier(4)

    def failing() -> bytes:
        nonlocal calls
        calls += 1
        time.sleep(0.2)
        raise ValueError("boom")

    def call(_: int) -> str:
        start.wait()
        try:
            cache.get_or_create("k", failing)
        except ValueError as exc:
            return str(exc)
        return "no error"

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(call, range(4))) == ["boom"] * 4
    assert calls == 1
    assert cache.get("k") is None
    assert cache.get_or_create("k", lambda: b"ok") == b"ok"  # the next call tries again


def test_max_bytes_zero_disables_caching() -> None:
    cache = ImageCache(0)
    factory = CountingFactory(b"x")
    assert cache.get_or_create("k", factory) == b"x"
    assert cache.get_or_create("k", factory) == b"x"
    assert factory.calls == 2
    cache.put("k", b"x")
    cache.put("empty", b"")
    assert (len(cache), cache.size_bytes, cache.get("k")) == (0, 0, None)


def test_clear_drops_everything() -> None:
    cache = ImageCache(100)
    cache.put("a", b"a" * 10)
    cache.put("b", b"b" * 10)
    cache.clear()
    assert (len(cache), cache.size_bytes, cache.get("a")) == (0, 0, None)


@pytest.mark.parametrize("max_bytes", [1, 64, 1000])
def test_size_stays_within_max_bytes_under_concurrent_load(max_bytes: int) -> None:
    cache = ImageCache(max_bytes)

    def work(i: int) -> None:
        for j in range(200):
            key = (i * 7 + j) % 37
            value = cache.get_or_create(key, lambda key=key: bytes(key % 50 + 1))
            assert value == bytes(key % 50 + 1)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert cache.size_bytes <= max_bytes
    assert cache.size_bytes == sum(len(v) + key_bytes(k) for k in range(37) if (v := cache.get(k)) is not None)


def test_long_keys_count_against_the_bound() -> None:
    """A key can carry a 32,000-character prompt: many small images under long prompts stay within the bound."""
    cache = ImageCache(100_000)
    for i in range(100):
        cache.put(("generation", f"{i} " + "p" * 10_000), b"x" * 100)
    assert cache.size_bytes <= 100_000
    assert len(cache) == 100_000 // (100 + key_bytes(("generation", "99 " + "p" * 10_000)))

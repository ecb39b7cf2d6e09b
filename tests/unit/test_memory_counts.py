"""memory:// rate-limit counts (one process): counted in fixed windows like the library's own
storage, without a thread started behind the requests, and with ended windows swept."""

from __future__ import annotations

import threading

import pytest
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from app.security import MemoryCounts, _storage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("time.time", clock.time)
    monkeypatch.setattr("time.monotonic", clock.time)
    return clock


def test_memory_urls_count_in_memory_counts():
    assert isinstance(_storage("memory://"), MemoryCounts)


def test_a_window_lets_its_budget_through_and_the_next_one_starts_afresh(clock):
    limiter = FixedWindowRateLimiter(MemoryCounts())
    item = parse("3 per minute")
    assert [limiter.hit(item, "198.51.100.7") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "203.0.113.9")  # another address has its own budget
    clock.now += 61
    assert limiter.hit(item, "198.51.100.7")


def test_counting_starts_no_thread(clock, monkeypatch):
    storage = MemoryCounts()
    started: list[threading.Thread] = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread))
    limiter = FixedWindowRateLimiter(storage)
    item = parse("1000 per minute")
    for _ in range(50):
        clock.now += 0.02  # the library's own storage starts a timer after every 10 ms
        limiter.hit(item, "198.51.100.7")
    assert started == []


def test_windows_nobody_asks_about_again_are_swept(clock):
    storage = MemoryCounts()
    limiter = FixedWindowRateLimiter(storage)
    item = parse("5 per minute")
    for number in range(100):
        limiter.hit(item, f"198.51.100.{number}")
    assert len(storage.storage) == 100
    clock.now += MemoryCounts.SWEEP_SECONDS + 1
    limiter.hit(item, "203.0.113.9")
    assert list(storage.storage) == [item.key_for("203.0.113.9")]

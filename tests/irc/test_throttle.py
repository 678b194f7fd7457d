"""The outgoing pacing a user sets with ``throttle_limit``: a burst, then a steady rate."""

import pytest

from plugins.irc.throttle import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def waits(bucket: TokenBucket, lines: int) -> list[float]:
    """How long each of *lines* lines, queued at once, waits before going out."""
    return [round(bucket.reserve(), 6) for _ in range(lines)]


def test_a_burst_of_the_limit_then_one_line_per_second() -> None:
    bucket = TokenBucket(rate_per_second=1.0, burst=10, clock=FakeClock())
    assert waits(bucket, 13) == [0.0] * 10 + [1.0, 2.0, 3.0]


def test_time_passing_shortens_the_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=2, clock=clock)
    waits(bucket, 2)
    clock.now += 0.25
    assert waits(bucket, 1) == [0.75]
    clock.now += 0.75
    assert waits(bucket, 1) == [1.0]  # the slot after the one claimed above


def test_idle_time_refills_the_burst_but_never_beyond_it() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=3, clock=clock)
    waits(bucket, 3)
    clock.now += 3600
    assert waits(bucket, 4) == [0.0, 0.0, 0.0, 1.0]


def test_minus_one_never_throttles() -> None:
    bucket = TokenBucket(rate_per_second=1.0, burst=-1, clock=FakeClock())
    assert set(waits(bucket, 100_000)) == {0.0}
    assert bucket.unlimited


def test_zero_means_no_burst_at_all() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=2.0, burst=0, clock=clock)
    assert waits(bucket, 3) == [0.0, 0.5, 1.0]
    clock.now += 10
    assert waits(bucket, 2) == [0.0, 0.5]


def test_a_clock_going_backwards_grants_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=1, clock=clock)
    bucket.reserve()
    clock.now -= 50
    assert waits(bucket, 1) == [1.0]


@pytest.mark.parametrize(
    ("rate", "burst", "named"),
    [(1.0, -2, "throttle limit"), (0.0, 10, "rate"), (-1.0, 10, "rate")],
)
def test_nonsense_settings_are_refused_by_name(rate: float, burst: int, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        TokenBucket(rate_per_second=rate, burst=burst, clock=FakeClock())

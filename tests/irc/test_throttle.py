"""The outgoing pacing a user sets with ``throttle_limit``: a burst, then a steady rate."""

import pytest

from plugins.irc.throttle import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def waits(bucket: TokenBucket, clock: FakeClock, lines: int) -> list[float]:
    """When each of *lines* lines, queued at once, goes out (seconds from now), for a sender
    that sleeps as long as the bucket says."""
    start = clock.now
    sent = []
    for _ in range(lines):
        while wait := bucket.take():
            clock.now += wait
        sent.append(round(clock.now - start, 6))
    return sent


def test_a_burst_of_the_limit_then_one_line_per_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=10, clock=clock)
    assert waits(bucket, clock, 13) == [0.0] * 10 + [1.0, 2.0, 3.0]


def test_time_passing_shortens_the_wait_and_a_refusal_takes_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=2, clock=clock)
    waits(bucket, clock, 2)
    clock.now += 0.25
    assert bucket.take() == 0.75
    assert bucket.take() == 0.75  # asking again does not push the slot further away
    clock.now += 0.75
    assert bucket.take() == 0.0


def test_idle_time_refills_the_burst_but_never_beyond_it() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=3, clock=clock)
    waits(bucket, clock, 3)
    clock.now += 3600
    assert waits(bucket, clock, 4) == [0.0, 0.0, 0.0, 1.0]


def test_minus_one_never_throttles() -> None:
    bucket = TokenBucket(rate_per_second=1.0, burst=-1, clock=FakeClock())
    assert {bucket.take() for _ in range(100_000)} == {0.0}
    assert bucket.unlimited


def test_zero_means_no_burst_at_all() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=2.0, burst=0, clock=clock)
    assert waits(bucket, clock, 3) == [0.0, 0.5, 1.0]
    clock.now += 10
    assert waits(bucket, clock, 2) == [0.0, 0.5]


def test_a_clock_going_backwards_grants_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=1, clock=clock)
    assert bucket.take() == 0.0
    clock.now -= 50
    assert bucket.take() == 1.0


@pytest.mark.parametrize(
    ("rate", "burst", "named"),
    [(1.0, -2, "throttle limit"), (0.0, 10, "rate"), (-1.0, 10, "rate")],
)
def test_nonsense_settings_are_refused_by_name(rate: float, burst: int, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        TokenBucket(rate_per_second=rate, burst=burst, clock=FakeClock())

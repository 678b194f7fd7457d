"""The outgoing pacing a user sets with ``throttle_limit``: a burst, then a steady rate."""

import pytest

from plugins.irc.throttle import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines_sent_now(bucket: TokenBucket, attempts: int = 1000) -> int:
    return sum(bucket.try_take() for _ in range(attempts))


def test_a_burst_of_the_limit_then_one_line_per_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=10, clock=clock)
    assert lines_sent_now(bucket) == 10
    assert bucket.wait_time() == pytest.approx(1.0)
    clock.now += 0.5
    assert not bucket.try_take()
    assert bucket.wait_time() == pytest.approx(0.5)
    clock.now += 0.5
    assert lines_sent_now(bucket) == 1


def test_idle_time_refills_the_burst_but_never_beyond_it() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=3, clock=clock)
    lines_sent_now(bucket)
    clock.now += 3600
    assert lines_sent_now(bucket) == 3


def test_minus_one_never_throttles() -> None:
    bucket = TokenBucket(rate_per_second=1.0, burst=-1, clock=FakeClock())
    assert lines_sent_now(bucket, 100_000) == 100_000
    assert bucket.wait_time() == 0.0
    assert bucket.unlimited


def test_zero_means_no_burst_at_all() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=2.0, burst=0, clock=clock)
    assert lines_sent_now(bucket) == 1
    assert bucket.wait_time() == pytest.approx(0.5)
    clock.now += 10
    assert lines_sent_now(bucket) == 1


def test_a_clock_going_backwards_grants_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=1.0, burst=1, clock=clock)
    bucket.try_take()
    clock.now -= 50
    assert not bucket.try_take()


@pytest.mark.parametrize(
    ("rate", "burst", "named"),
    [(1.0, -2, "throttle limit"), (0.0, 10, "rate"), (-1.0, 10, "rate")],
)
def test_nonsense_settings_are_refused_by_name(rate: float, burst: int, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        TokenBucket(rate_per_second=rate, burst=burst, clock=FakeClock())

"""Summaries of repeated measurements: percentiles, medians, rates."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: a value that was really measured, never interpolated."""
    if not values:
        raise ValueError("no values to take a percentile of")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("no values to take a median of")
    return float(statistics.median(values))


@dataclass(frozen=True)
class Latencies:
    """One-way delays of one run, in milliseconds, and how many messages never arrived."""

    p50_ms: float
    p99_ms: float
    delivered: int
    lost: int


def latencies(seconds: Sequence[float], lost: int) -> Latencies:
    millis = [s * 1000 for s in seconds]
    return Latencies(percentile(millis, 0.5), percentile(millis, 0.99), len(millis), lost)


@dataclass(frozen=True)
class Rate:
    """Messages that arrived over the time from the first send to the last arrival."""

    per_second: float
    delivered: int
    expected: int
    seconds: float


def rate(delivered: int, expected: int, seconds: float) -> Rate:
    return Rate(delivered / seconds if seconds > 0 else 0.0, delivered, expected, seconds)

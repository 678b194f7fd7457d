"""How much each scenario does: the full run of issue 5, and a quick one that only keeps the
harness from rotting (CI runs it in well under two minutes)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    repeat: int
    latency_messages: int
    throughput_messages: int
    window: int
    fanout_users: int
    fanout_messages: int
    scale_users: tuple[int, ...]
    matrix_latency_messages: int
    matrix_burst: int
    matrix_senders: int
    matrix_throughput_messages: int
    matrix_window: int
    within: float
    """The longest wait for any one thing to arrive before it counts as lost."""


FULL = Plan(
    repeat=3,
    latency_messages=500,
    throughput_messages=5_000,
    window=100,
    fanout_users=200,
    fanout_messages=50,
    scale_users=(1, 200, 2_000),
    matrix_latency_messages=100,
    matrix_burst=300,
    matrix_senders=8,
    matrix_throughput_messages=300,
    matrix_window=10,
    within=30.0,
)

QUICK = Plan(
    repeat=1,
    latency_messages=30,
    throughput_messages=300,
    window=50,
    fanout_users=10,
    fanout_messages=5,
    scale_users=(1, 20),
    matrix_latency_messages=10,
    matrix_burst=40,
    matrix_senders=4,
    matrix_throughput_messages=30,
    matrix_window=10,
    within=15.0,
)

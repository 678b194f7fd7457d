"""The Prometheus text exposition format (version 0.0.4), for a handful of gauges and
counters: no client library needed for so little."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PREFIX = "xmpp_bridge_"


@dataclass(frozen=True, slots=True)
class GatewayStats:
    """One gateway's numbers at the time of the scrape."""

    domain: str
    link_up: bool
    connects: int
    queued: int
    dropped: int
    sessions: int


@dataclass(frozen=True, slots=True)
class ArchiveStats:
    buffered: int
    dropped: int


@dataclass(frozen=True, slots=True)
class _Metric:
    name: str
    kind: str
    help: str


_LINK_UP = _Metric("link_up", "gauge", "1 when the component link to the XMPP server is up.")
_CONNECTS = _Metric("link_connects_total", "counter", "Component link handshakes completed.")
_QUEUED = _Metric("link_queued_stanzas", "gauge", "Stanzas waiting for the link to come back.")
_DROPPED = _Metric("link_dropped_stanzas_total", "counter", "Stanzas dropped from a full queue.")
_SESSIONS = _Metric("sessions", "gauge", "Users logged in to the legacy network.")
_BUFFERED = _Metric("archive_buffered_messages", "gauge", "Messages not yet written.")
_ARCHIVE_DROPPED = _Metric(
    "archive_dropped_messages_total", "counter", "Messages dropped from a full archive buffer."
)


def exposition(gateways: Sequence[GatewayStats], archive: ArchiveStats | None) -> str:
    """Every metric with its HELP and TYPE lines, one sample per gateway."""
    per_gateway = (
        (_LINK_UP, lambda g: int(g.link_up)),
        (_CONNECTS, lambda g: g.connects),
        (_QUEUED, lambda g: g.queued),
        (_DROPPED, lambda g: g.dropped),
        (_SESSIONS, lambda g: g.sessions),
    )
    lines: list[str] = []
    for metric, value_of in per_gateway:
        lines += _header(metric)
        lines += [
            f'{_PREFIX}{metric.name}{{gateway="{_label(g.domain)}"}} {value_of(g)}'
            for g in gateways
        ]
    if archive is not None:
        for metric, value in ((_BUFFERED, archive.buffered), (_ARCHIVE_DROPPED, archive.dropped)):
            lines += [*_header(metric), f"{_PREFIX}{metric.name} {value}"]
    return "\n".join(lines) + "\n"


def _header(metric: _Metric) -> list[str]:
    return [
        f"# HELP {_PREFIX}{metric.name} {metric.help}",
        f"# TYPE {_PREFIX}{metric.name} {metric.kind}",
    ]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

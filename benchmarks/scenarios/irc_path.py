"""The IRC path both ways: one-way latency and windowed throughput through xmpp-bridge and
Biboumi, beside the bare paths (a Prosody group chat; two clients on ngircd)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from benchmarks.irc_client import IrcClient
from benchmarks.measure import Arrivals, Path, one_at_a_time, windowed
from benchmarks.plan import Plan
from benchmarks.report import Bar, Results, below_reference, ratio_at_least, ratio_at_most
from benchmarks.stack import Stack
from benchmarks.xmpp_client import Stanza, XmppClient, groupchat
from bridge.devservers.ports import LOOPBACK

GROUP = "IRC path"
Configure = Callable[[XmppClient], Awaitable[None]]


@dataclass(frozen=True)
class Pair:
    """Two clients that see each other's messages, one path each way."""

    forth: Path
    back: Path


def _arrivals_from_irc(client: IrcClient) -> Arrivals:
    arrivals = Arrivals()
    client.on_privmsg = lambda _nick, _target, text: arrivals.arrived(text)
    return arrivals


def _arrivals_from_room(client: XmppClient, sender_suffix: str) -> Arrivals:
    """Groupchat bodies from one occupant (so the client's own reflections never count)."""
    arrivals = Arrivals()

    def on_stanza(stanza: Stanza) -> None:
        if stanza.body is not None and stanza.from_.endswith(sender_suffix):
            arrivals.arrived(stanza.body)

    client.on_stanza = on_stanza
    return arrivals


def _room_sender(client: XmppClient, room: str) -> Callable[[str], Awaitable[None]]:
    async def send(body: str) -> None:
        client.send(groupchat(room, body))
        await client.drain()

    return send


def _irc_sender(client: IrcClient, channel: str) -> Callable[[str], Awaitable[None]]:
    async def send(body: str) -> None:
        client.privmsg(channel, body)
        await client.drain()

    return send


@contextlib.asynccontextmanager
async def through_gateway(
    stack: Stack, gateway_domain: str, tag: str, configure: Configure | None
) -> AsyncIterator[Pair]:
    """An XMPP user in `#tag` through a gateway, and an IRC user in the same channel."""
    channel = f"#{tag}"
    xmpp = await XmppClient.connect(stack.prosody.c2s_port, stack.prosody.domain, f"{tag}-x")
    irc = await IrcClient.connect(LOOPBACK, stack.ngircd.port, f"{tag}i")
    try:
        await irc.join(channel)
        if configure is not None:
            await configure(xmpp)
        room = f"{channel}%{stack.ngircd.name}@{gateway_domain}"
        await xmpp.join_muc(room, f"{tag}x")
        await irc.wait_for_member(channel, f"{tag}x")
        yield Pair(
            forth=Path(_room_sender(xmpp, room), _arrivals_from_irc(irc)),
            back=Path(_irc_sender(irc, channel), _arrivals_from_room(xmpp, f"/{tag}i")),
        )
    finally:
        await xmpp.close()
        await irc.close()


@contextlib.asynccontextmanager
async def bare_room(stack: Stack, tag: str) -> AsyncIterator[Pair]:
    """Two XMPP users in a Prosody group chat."""
    room = f"{tag}@{stack.prosody.muc_domain}"
    first = await XmppClient.connect(stack.prosody.c2s_port, stack.prosody.domain, f"{tag}-a")
    second = await XmppClient.connect(stack.prosody.c2s_port, stack.prosody.domain, f"{tag}-b")
    try:
        await first.join_muc(room, "a")
        await second.join_muc(room, "b")
        yield Pair(
            forth=Path(_room_sender(first, room), _arrivals_from_room(second, "/a")),
            back=Path(_room_sender(second, room), _arrivals_from_room(first, "/b")),
        )
    finally:
        await first.close()
        await second.close()


@contextlib.asynccontextmanager
async def bare_irc(stack: Stack, tag: str) -> AsyncIterator[Pair]:
    """Two IRC users in one ngircd channel."""
    channel = f"#{tag}"
    first = await IrcClient.connect(LOOPBACK, stack.ngircd.port, f"{tag}a")
    second = await IrcClient.connect(LOOPBACK, stack.ngircd.port, f"{tag}b")
    try:
        await first.join(channel)
        await second.join(channel)
        await first.wait_for_member(channel, f"{tag}b")
        yield Pair(
            forth=Path(_irc_sender(first, channel), _arrivals_from_irc(second)),
            back=Path(_irc_sender(second, channel), _arrivals_from_irc(first)),
        )
    finally:
        await first.close()
        await second.close()


# (direction, the attribute of a Pair that goes that way)
_DIRECTIONS = (("XMPP→IRC", "forth"), ("IRC→XMPP", "back"))


def _latency_rows(
    results: Results, direction: str, ours: float, others: dict[str, float], what: str
) -> None:
    bars: dict[str, Bar | None] = {
        "Biboumi": below_reference() if what == "p50" else None,
        "bare Prosody MUC": ratio_at_most(1.5) if what == "p50" else None,
        "bare ngircd": None,
    }
    for name, value in others.items():
        results.add(
            GROUP,
            f"{direction} latency {what} vs {name}",
            "ms",
            ours,
            value,
            reference_name=name,
            bar=bars[name],
        )


def _throughput_rows(
    results: Results, direction: str, ours: float, others: dict[str, float]
) -> None:
    bars: dict[str, Bar | None] = {
        "Biboumi": ratio_at_least(3.0),
        "bare Prosody MUC": ratio_at_least(0.6),
        "bare ngircd": None,
    }
    for name, value in others.items():
        results.add(
            GROUP,
            f"{direction} throughput vs {name}",
            "msg/s",
            ours,
            value,
            reference_name=name,
            bar=bars[name],
        )


async def measure(stack: Stack, plan: Plan, results: Results) -> None:
    async with contextlib.AsyncExitStack() as pairs:
        subjects: dict[str, Pair] = {
            "xmpp-bridge": await pairs.enter_async_context(
                through_gateway(stack, stack.gateway.irc_domain, "lat-xb", None)
            )
        }
        if stack.biboumi is not None:
            subjects["Biboumi"] = await pairs.enter_async_context(
                through_gateway(stack, stack.biboumi.domain, "lat-bb", stack.biboumi.configure_user)
            )
        subjects["bare Prosody MUC"] = await pairs.enter_async_context(bare_room(stack, "lat-muc"))
        subjects["bare ngircd"] = await pairs.enter_async_context(bare_irc(stack, "lat-irc"))

        for run in range(plan.repeat):
            for direction, side in _DIRECTIONS:
                p50: dict[str, float] = {}
                p99: dict[str, float] = {}
                lost: dict[str, float] = {}
                for name, pair in subjects.items():
                    path: Path = getattr(pair, side)
                    tag = f"l{run}{side}{name[:4]}"
                    figures = await one_at_a_time(path, tag, plan.latency_messages, plan.within)
                    p50[name], p99[name], lost[name] = figures.p50_ms, figures.p99_ms, figures.lost
                ours = p50.pop("xmpp-bridge")
                _latency_rows(results, direction, ours, p50, "p50")
                _latency_rows(results, direction, p99.pop("xmpp-bridge"), p99, "p99")
                results.add(
                    GROUP, f"{direction} latency messages lost", "msgs", lost["xmpp-bridge"]
                )

            for direction, side in _DIRECTIONS:
                rates: dict[str, float] = {}
                for name, pair in subjects.items():
                    tag = f"t{run}{side}{name[:4]}"
                    stream = await windowed(
                        getattr(pair, side), tag, plan.throughput_messages, plan.window, plan.within
                    )
                    rates[name] = stream.per_second
                    if name == "xmpp-bridge":
                        results.add(
                            GROUP,
                            f"{direction} throughput messages lost",
                            "msgs",
                            stream.expected - stream.delivered,
                        )
                _throughput_rows(results, direction, rates.pop("xmpp-bridge"), rates)

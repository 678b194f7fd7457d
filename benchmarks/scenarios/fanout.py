"""Fan-out: many XMPP users in one IRC channel, each on their own IRC connection; an IRC
client speaks, and every message must reach every user."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from benchmarks.irc_client import IrcClient
from benchmarks.measure import bodies
from benchmarks.plan import Plan
from benchmarks.report import Results, ratio_at_least
from benchmarks.stack import Stack
from benchmarks.xmpp_client import Stanza, XmppClient
from bridge.devservers.ports import LOOPBACK

GROUP = "Fan-out"
CONCURRENCY = 50
"""Connections and joins started at once: enough to be quick, few enough not to look like
an attack to Prosody or ngircd."""

Item = TypeVar("Item")
Result = TypeVar("Result")


async def in_batches(
    items: Sequence[Item], step: Callable[[Item], Awaitable[Result]]
) -> list[Result]:
    """Run `step` for every item, CONCURRENCY at a time; the results in order."""
    results: list[Result] = []
    for start in range(0, len(items), CONCURRENCY):
        batch = items[start : start + CONCURRENCY]
        results += await asyncio.gather(*(step(item) for item in batch))
    return results


async def connect_users(stack: Stack, prefix: str, count: int) -> list[XmppClient]:
    def connect(number: int) -> Awaitable[XmppClient]:
        return XmppClient.connect(stack.prosody.c2s_port, stack.prosody.domain, f"{prefix}{number}")

    return await in_batches(range(count), connect)


async def close_all(clients: Sequence[XmppClient]) -> None:
    await in_batches(clients, lambda client: client.close())


@contextlib.asynccontextmanager
async def users_in_channel(
    stack: Stack,
    gateway_domain: str,
    channel: str,
    count: int,
    configure: Callable[[XmppClient], Awaitable[None]] | None,
) -> AsyncIterator[list[XmppClient]]:
    prefix = channel.lstrip("#")
    clients = await connect_users(stack, f"{prefix}-", count)
    try:
        if configure is not None:
            await in_batches(clients, configure)
        room = f"{channel}%{stack.ngircd.name}@{gateway_domain}"
        nicks = {id(client): f"{prefix}{i}" for i, client in enumerate(clients)}
        await in_batches(clients, lambda client: client.join_muc(room, nicks[id(client)]))
        yield clients
    finally:
        await close_all(clients)


async def deliveries_per_second(
    speaker: IrcClient, channel: str, clients: Sequence[XmppClient], tag: str, plan: Plan
) -> tuple[float, int]:
    """Send the messages at once; deliveries per second until the last one, and the lost."""
    wanted = set(bodies(tag, plan.fanout_messages))
    expected = len(wanted) * len(clients)
    delivered = 0
    last = 0.0
    progress = asyncio.Event()

    def on_stanza(stanza: Stanza) -> None:
        nonlocal delivered, last
        if stanza.name == "message" and stanza.body in wanted:
            delivered += 1
            last = time.perf_counter()
            progress.set()

    for client in clients:
        client.on_stanza = on_stanza
    start = time.perf_counter()
    for body in sorted(wanted):
        speaker.privmsg(channel, body)
    await speaker.drain()
    while delivered < expected:
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), plan.within)
        except TimeoutError:
            break  # nothing arrived for a long time: the rest is lost
    elapsed = last - start
    return (delivered / elapsed if elapsed > 0 else 0.0), expected - delivered


async def measure(stack: Stack, plan: Plan, results: Results) -> None:
    """Both gateways' users join first; then each run measures one gateway, then the other."""
    subjects: dict[str, tuple[str, Callable[[XmppClient], Awaitable[None]] | None]] = {
        "xmpp-bridge": (stack.gateway.irc_domain, None)
    }
    if stack.biboumi is not None:
        subjects["Biboumi"] = (stack.biboumi.domain, stack.biboumi.configure_user)
    users, messages = plan.fanout_users, plan.fanout_messages
    async with contextlib.AsyncExitStack() as joined:
        audiences: dict[str, tuple[IrcClient, str, list[XmppClient]]] = {}
        for name, (domain, configure) in subjects.items():
            channel = f"#fan-{name[:4].lower()}"
            speaker = await IrcClient.connect(LOOPBACK, stack.ngircd.port, f"fan{name[:4]}")
            joined.push_async_callback(speaker.close)
            await speaker.join(channel)
            clients = await joined.enter_async_context(
                users_in_channel(stack, domain, channel, users, configure)
            )
            audiences[name] = (speaker, channel, clients)
        for run in range(plan.repeat):
            rates: dict[str, float] = {}
            lost: dict[str, int] = {}
            for name, (speaker, channel, clients) in audiences.items():
                rates[name], lost[name] = await deliveries_per_second(
                    speaker, channel, clients, f"f{run}", plan
                )
            results.add(
                GROUP,
                f"deliveries lost of {users * messages}",
                "msgs",
                lost["xmpp-bridge"],
                lost.get("Biboumi"),
                reference_name="Biboumi",
            )
            results.add(
                GROUP,
                f"deliveries/s to {users} users ({messages} IRC messages)",
                "msg/s",
                rates["xmpp-bridge"],
                rates.get("Biboumi"),
                reference_name="Biboumi",
                bar=ratio_at_least(10.0),
            )

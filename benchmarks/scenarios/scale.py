"""Scale: N users, each with their own IRC connection and channel, joining at once. Join
time, memory per user and CPU of a freshly started gateway, for each N."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from benchmarks.plan import Plan
from benchmarks.process_stats import MeasuredProcess, settled_rss
from benchmarks.report import Bar, Results, at_most
from benchmarks.scenarios.fanout import close_all, connect_users, in_batches
from benchmarks.stack import Stack
from benchmarks.xmpp_client import XmppClient, XmppError

GROUP = "Scale"
log = logging.getLogger(__name__)
KB = 1024
MB = 1024 * 1024


async def _join_all(
    stack: Stack,
    gateway: MeasuredProcess,
    domain: str,
    count: int,
    configure: Callable[[XmppClient], Awaitable[None]] | None,
    tag: str,
) -> tuple[float, float, float]:
    """Seconds for `count` users to join their own channels; RSS growth and CPU seconds."""
    await gateway.stop()
    await gateway.start()
    clients = await connect_users(stack, f"{tag}-", count)
    try:
        if configure is not None:
            await in_batches(clients, configure)
        rss_before = await settled_rss(gateway)
        cpu_before = gateway.cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(
            *(
                client.join_muc(f"#{tag}-{i}%{stack.ngircd.name}@{domain}", f"{tag}u{i}")
                for i, client in enumerate(clients)
            )
        )
        joined = time.perf_counter() - started
        rss_after = await settled_rss(gateway)
        return joined, rss_after - rss_before, gateway.cpu_seconds() - cpu_before
    finally:
        await close_all(clients)


async def measure(stack: Stack, plan: Plan, results: Results) -> None:
    for count in plan.scale_users:
        figures: dict[str, list[tuple[float, float, float]]] = {}
        for run in range(plan.repeat):
            ours = await _join_all(
                stack, stack.gateway, stack.gateway.irc_domain, count, None, f"sx{run}n{count}"
            )
            figures.setdefault("xmpp-bridge", []).append(ours)
            if stack.biboumi is not None:
                try:
                    theirs = await _join_all(
                        stack,
                        stack.biboumi,
                        stack.biboumi.domain,
                        count,
                        stack.biboumi.configure_user,
                        f"sb{run}n{count}",
                    )
                except XmppError as refused:
                    # Biboumi dials every server at once: past ngircd's listen backlog its
                    # connections time out, and the row stands without its reference.
                    log.warning("Biboumi, %d users: %s", count, refused)
                else:
                    figures.setdefault("Biboumi", []).append(theirs)
        join_bar: Bar | None = at_most(20.0, "s") if count >= 2_000 else None
        memory_bar: Bar | None = at_most(30.0, "KB") if count >= 200 else None
        for run, (joined, grown, cpu) in enumerate(figures["xmpp-bridge"]):
            theirs_runs = figures.get("Biboumi", [])
            reference = theirs_runs[run] if run < len(theirs_runs) else None
            results.add(
                GROUP,
                f"{count} users: join time",
                "s",
                joined,
                reference[0] if reference else None,
                reference_name="Biboumi",
                bar=join_bar,
            )
            if count > 1:
                results.add(
                    GROUP,
                    f"{count} users: RSS growth per user",
                    "KB",
                    grown / count / KB,
                    reference[1] / count / KB if reference else None,
                    reference_name="Biboumi",
                    bar=memory_bar,
                )
            results.add(
                GROUP,
                f"{count} users: gateway CPU for the joins",
                "s",
                cpu,
                reference[2] if reference else None,
                reference_name="Biboumi",
            )
            results.add(
                GROUP,
                f"{count} users: RSS growth",
                "MB",
                grown / MB,
                reference[1] / MB if reference else None,
                reference_name="Biboumi",
            )

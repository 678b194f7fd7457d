"""The Matrix path: latency both ways, a burst from many senders, and XMPP→Matrix throughput,
each beside the direct path between two Matrix clients on the same Synapse."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from benchmarks.matrix_client import MatrixClient
from benchmarks.measure import Arrivals, Path, bodies, one_at_a_time, wait_for_burst, windowed
from benchmarks.plan import Plan
from benchmarks.report import Results, above_reference_by_at_most, at_most, ratio_at_least
from benchmarks.stack import Stack
from benchmarks.xmpp_client import Stanza, XmppClient, data_form, groupchat
from plugins.matrix.addresses import MatrixGrammar, address_of_room

GROUP = "Matrix path"
DIRECT = "direct Matrix"
QUIET = 20.0
"""A burst is over when nothing of it arrived for this long (Synapse may pause to persist)."""


@dataclass(frozen=True)
class Scene:
    """An XMPP user in a Matrix room through the gateway, the Matrix person who reads what
    it sends, and Matrix people who send."""

    xmpp: XmppClient
    room_jid: str
    room_id: str
    reader: MatrixClient
    senders: list[MatrixClient]
    at_xmpp: Arrivals
    at_reader: Arrivals


async def _person(stack: Stack, name: str) -> MatrixClient:
    assert stack.synapse is not None
    account = await stack.synapse.register_user(name, secrets.token_urlsafe(12))
    return await MatrixClient.login(stack.synapse.base_url, account)


async def _register(stack: Stack, client: XmppClient, name: str) -> None:
    """The XMPP user registers a fresh Matrix account with the gateway (XEP-0077)."""
    assert stack.synapse is not None
    password = secrets.token_urlsafe(12)
    account = await stack.synapse.register_user(name, password)
    form = data_form(
        {"homeserver": stack.synapse.base_url, "matrix_id": account.user_id, "password": password}
    )
    await client.iq(
        stack.gateway.matrix_domain, "set", f"<query xmlns='jabber:iq:register'>{form}</query>"
    )


@contextlib.asynccontextmanager
async def scene(stack: Stack, senders: int) -> AsyncIterator[Scene]:
    tag = secrets.token_hex(3)
    xmpp = await XmppClient.connect(stack.prosody.c2s_port, stack.prosody.domain, f"mx-{tag}")
    people: list[MatrixClient] = []
    try:
        await _register(stack, xmpp, f"bridged{tag}")
        reader = await _person(stack, f"reader{tag}")
        people.append(reader)
        for i in range(senders):
            people.append(await _person(stack, f"sender{i}{tag}"))
        room_id = await reader.create_room()
        for person in people[1:]:
            await person.join(room_id)
        room_jid = (
            f"{MatrixGrammar().format(address_of_room(room_id))}@{stack.gateway.matrix_domain}"
        )
        await xmpp.join_muc(room_jid, "bench")
        at_xmpp, at_reader = Arrivals(), Arrivals()

        def on_stanza(stanza: Stanza) -> None:
            if stanza.name == "message" and stanza.body is not None:
                at_xmpp.arrived(stanza.body)

        xmpp.on_stanza = on_stanza
        reader.start_sync(lambda _room, _sender, body, _event: at_reader.arrived(body))
        yield Scene(xmpp, room_jid, room_id, reader, people[1:], at_xmpp, at_reader)
    finally:
        await xmpp.close()
        for person in people:
            await person.close()


def _from_xmpp(scene: Scene) -> Path:
    async def send(body: str) -> None:
        scene.xmpp.send(groupchat(scene.room_jid, body))
        await scene.xmpp.drain()

    return Path(send, scene.at_reader)


def _from_matrix(person: MatrixClient, room_id: str, arrivals: Arrivals) -> Path:
    """A Matrix client sends the way clients do: in order, each once the last one is stored."""

    async def send(body: str) -> None:
        await person.send_text(room_id, body)

    return Path(send, arrivals)


async def _burst(scene: Scene, tag: str, total: int, plan: Plan) -> dict[str, tuple[int, int]]:
    """Every sender sends its share at once; lost and duplicated at the XMPP user and at the
    direct Matrix reader, who both watch the same burst."""
    wanted = bodies(tag, total)
    shares = [wanted[i :: len(scene.senders)] for i in range(len(scene.senders))]

    async def send_share(person: MatrixClient, share: list[str]) -> None:
        for body in share:
            await person.send_text(scene.room_id, body)

    started = time.perf_counter()
    await asyncio.gather(*(send_share(p, s) for p, s in zip(scene.senders, shares, strict=True)))
    seen = {}
    for name, arrivals in (("xmpp-bridge", scene.at_xmpp), (DIRECT, scene.at_reader)):
        burst = await wait_for_burst(arrivals, wanted, started, plan.within * 4, QUIET)
        seen[name] = (burst.lost, burst.duplicated)
    return seen


async def measure(stack: Stack, plan: Plan, results: Results) -> None:
    async with scene(stack, plan.matrix_senders) as matrix:
        speaker = matrix.senders[0]
        for run in range(plan.repeat):
            count, within = plan.matrix_latency_messages, plan.within
            directions = (
                ("Matrix→XMPP", _from_matrix(speaker, matrix.room_id, matrix.at_xmpp)),
                ("XMPP→Matrix", _from_xmpp(matrix)),
            )
            for direction, path in directions:
                ours = await one_at_a_time(path, f"ml{run}{direction[0]}x", count, within)
                direct_path = _from_matrix(speaker, matrix.room_id, matrix.at_reader)
                direct = await one_at_a_time(direct_path, f"ml{run}{direction[0]}d", count, within)
                results.add(
                    GROUP,
                    f"{direction} latency p50",
                    "ms",
                    ours.p50_ms,
                    direct.p50_ms,
                    reference_name=DIRECT,
                    bar=above_reference_by_at_most(15.0, "ms"),
                )
                results.add(
                    GROUP,
                    f"{direction} latency p99",
                    "ms",
                    ours.p99_ms,
                    direct.p99_ms,
                    reference_name=DIRECT,
                )

            seen = await _burst(matrix, f"mb{run}", plan.matrix_burst, plan)
            burst = f"burst of {plan.matrix_burst} from {plan.matrix_senders} senders"
            for index, what in enumerate(("lost", "duplicated")):
                results.add(
                    GROUP,
                    f"{burst}: {what}",
                    "msgs",
                    seen["xmpp-bridge"][index],
                    seen[DIRECT][index],
                    reference_name=DIRECT,
                    bar=at_most(0, "msgs"),
                )

            total, window = plan.matrix_throughput_messages, plan.matrix_window
            ours_rate = await windowed(_from_xmpp(matrix), f"mt{run}x", total, window, within)
            direct_rate = await windowed(
                _from_matrix(speaker, matrix.room_id, matrix.at_reader),
                f"mt{run}d",
                total,
                window,
                within,
            )
            results.add(
                GROUP,
                "XMPP→Matrix throughput",
                "msg/s",
                ours_rate.per_second,
                direct_rate.per_second,
                reference_name=DIRECT,
                bar=ratio_at_least(0.8),
            )

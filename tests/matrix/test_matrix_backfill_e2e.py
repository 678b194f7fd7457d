"""What was said in a Matrix room before the user registered is in their archive, once."""

from __future__ import annotations

from collections.abc import Callable

from nio import JoinResponse
from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.devservers import Synapse
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.conftest import MatrixClientFactory
from tests.matrix.test_matrix_e2e import (
    bridged_account,
    register,
    room_jid,
    say,
    shared_room,
    start_matrix_bridge,
)
from tests.synapse_fixtures import MatrixUserFactory
from tests.test_mam_e2e import archive_of
from tests.test_rooms_e2e import join, self_presence
from tests.waiting import wait_until

EARLIER = ["first of old", "second of old", "third of old"]


def subject_message(room: str) -> Callable[[StanzaBase], bool]:
    """The (possibly empty) subject, which ends the history sent on joining."""
    return lambda s: (
        isinstance(s, Message)
        and s["from"].bare == room
        and s.xml.find(f"{{{s.namespace}}}subject") is not None
    )


def said(bodies: list[str]) -> list[str]:
    """The messages people said, without the room's notices (such as its naming)."""
    return [body for body in bodies if body in EARLIER]


async def test_first_login_backfills_room_history_into_the_archive_and_the_join_history(
    start_bridge: BridgeStarter,
    xmpp_user: XmppUserFactory,
    synapse: Synapse,
    matrix_user: MatrixUserFactory,
    matrix_client: MatrixClientFactory,
) -> None:
    account, password = await bridged_account(synapse)
    returning = await matrix_client(account)
    alice_account = await matrix_user("alice")
    alice = await matrix_client(alice_account)
    room_id = await shared_room(alice, account.user_id, name="old talk")
    assert isinstance(await returning.join(room_id), JoinResponse)
    for body in EARLIER:
        await say(alice, room_id, body)

    run = await start_matrix_bridge(start_bridge)
    client = await xmpp_user("ret")
    reply = await register(
        client, run, homeserver=synapse.base_url, matrix_id=account.user_id, password=password
    )
    assert reply["type"] == "result", reply
    room = room_jid(run, room_id)

    async def archived_bodies() -> list[str]:
        return [
            m["mam_result"]["forwarded"]["stanza"]["body"] for m in await archive_of(client, room)
        ]

    async def backfilled() -> bool:
        return set(EARLIER) <= set(await archived_bodies())

    await wait_until(backfilled, 20, "the room's earlier messages in the archive")
    archived = await archived_bodies()
    assert said(archived) == EARLIER

    mark = join(client, room, "ret")
    await client.wait_for(self_presence(room), timeout=15, after=mark)
    await client.wait_for(subject_message(room), timeout=15, after=mark)
    history = [
        s
        for s in client.received[mark:]
        if isinstance(s, Message) and s["from"].bare == room and s["body"]
    ]
    assert [s["body"] for s in history] == archived
    assert all(s["delay"]["stamp"] is not None for s in history)
    spoken = [s for s in history if s["body"] in EARLIER]
    assert len({s["from"].resource for s in spoken}) == 1 and spoken[0]["from"].resource
    assert await archived_bodies() == archived

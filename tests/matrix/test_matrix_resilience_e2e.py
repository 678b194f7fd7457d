"""A Synapse restart under a bridged conversation: the user is told, then it carries on."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig
from slixmpp.stanza import Presence

from bridge.devservers import Synapse
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.matrix.test_matrix_e2e import (
    logged_in_user,
    room_jid,
    say,
    shared_room,
    start_matrix_bridge,
)
from tests.test_rooms_e2e import groupchat, join, self_presence


@pytest.fixture
async def own_synapse(tmp_path: Path) -> AsyncIterator[Synapse]:
    """A Synapse of this test's own, free to be stopped and started again."""
    (tmp_path / "synapse").mkdir()
    server = Synapse(tmp_path / "synapse")
    await server.start()
    yield server
    await server.stop()


async def test_a_synapse_restart_is_reported_and_the_conversation_carries_on(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, own_synapse: Synapse
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account = await logged_in_user(xmpp_user, run, own_synapse)
    person = await own_synapse.register_user(f"alice{secrets.token_hex(3)}", "pw-alice-1")
    alice: Any = AsyncClient(
        own_synapse.base_url, person.user_id, config=AsyncClientConfig(encryption_enabled=False)
    )
    alice.restore_login(person.user_id, person.device_id, person.access_token)
    try:
        room_id = await shared_room(alice, account.user_id, name="steady")
        room = room_jid(run, room_id)
        await client.wait_for(self_presence(room), after=join(client, room, "me"), timeout=15)
        await say(alice, room_id, "before the restart")
        await client.wait_for(groupchat(room, "before the restart"))

        mark = client.mark()
        await own_synapse.stop()
        lost = await client.wait_for(
            lambda s: (
                isinstance(s, Presence)
                and s["type"] == "unavailable"
                and s["from"].bare in (room, run.jid)
            ),
            after=mark,
            timeout=30,
        )
        assert lost["type"] == "unavailable"
        await own_synapse.start()
        await say(alice, room_id, "after the restart")
        await client.wait_for(groupchat(room, "after the restart"), after=mark, timeout=40)
    finally:
        await alice.close()
